#include "provisioner/agent/host_metrics.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace provisioner::agent {
namespace {

Status malformed(const char* file, const std::string& what) {
    return Status::error(Code::invalid_argument, std::string(file) + ": " + what);
}

// The lines of text, without their newlines.
std::vector<std::string_view> lines(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        auto end = text.find('\n');
        out.push_back(text.substr(0, end));
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
    return out;
}

// The whitespace-separated words of a line.
std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

bool to_u64(std::string_view word, std::uint64_t& out) {
    auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), out);
    return ec == std::errc() && end == word.data() + word.size();
}

bool to_double(std::string_view word, double& out) {
    auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), out);
    return ec == std::errc() && end == word.data() + word.size();
}

Result<std::string> slurp(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) return Status::error(Code::not_found, "cannot read " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

Status parse_proc_stat(std::string_view text, double ticks_per_second, wire::HostMetrics& out) {
    if (ticks_per_second <= 0) return malformed("/proc/stat", "no clock tick rate");
    bool cpu = false;
    for (std::string_view line : lines(text)) {
        auto w = words(line);
        if (w.empty()) continue;
        if (w[0] == "cpu") {
            const auto& modes = wire::cpu_modes();
            for (std::size_t i = 0; i < modes.size() && i + 1 < w.size(); ++i) {
                std::uint64_t ticks = 0;
                if (!to_u64(w[i + 1], ticks))
                    return malformed("/proc/stat", "cpu " + modes[i] + " is not a number");
                out.cpu_seconds[modes[i]] = double(ticks) / ticks_per_second;
            }
            cpu = w.size() >= 5;  // user nice system idle at least
        } else if (w[0] == "btime" && w.size() >= 2) {
            std::uint64_t boot = 0;
            if (!to_u64(w[1], boot)) return malformed("/proc/stat", "btime is not a number");
            out.boot_time_seconds = double(boot);
        }
    }
    if (!cpu) return malformed("/proc/stat", "no cpu line");
    return Status::ok();
}

Status parse_meminfo(std::string_view text, wire::HostMetrics& out) {
    bool total = false;
    for (std::string_view line : lines(text)) {
        auto w = words(line);
        if (w.size() < 2) continue;
        std::uint64_t kib = 0;
        if (w[0] != "MemTotal:" && w[0] != "MemAvailable:") continue;
        if (!to_u64(w[1], kib))
            return malformed("/proc/meminfo", std::string(w[0]) + " is not a number");
        if (w[0] == "MemTotal:") {
            out.memory_total_bytes = kib * 1024;
            total = true;
        } else {
            out.memory_available_bytes = kib * 1024;
        }
    }
    if (!total) return malformed("/proc/meminfo", "no MemTotal");
    return Status::ok();
}

Status parse_loadavg(std::string_view text, wire::HostMetrics& out) {
    auto w = words(lines(text).empty() ? std::string_view() : lines(text)[0]);
    if (w.size() < 3 || !to_double(w[0], out.load1) || !to_double(w[1], out.load5) ||
        !to_double(w[2], out.load15))
        return malformed("/proc/loadavg", "not three loads");
    return Status::ok();
}

Status parse_uptime(std::string_view text, wire::HostMetrics& out) {
    auto w = words(lines(text).empty() ? std::string_view() : lines(text)[0]);
    if (w.empty() || !to_double(w[0], out.uptime_seconds))
        return malformed("/proc/uptime", "no uptime");
    return Status::ok();
}

Result<std::vector<wire::NetworkDevice>> parse_net_dev(std::string_view text) {
    std::vector<wire::NetworkDevice> out;
    for (std::string_view line : lines(text)) {
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;  // the two header lines
        auto name = words(line.substr(0, colon));
        auto w = words(line.substr(colon + 1));
        if (name.size() != 1 || w.size() < 16)
            return malformed("/proc/net/dev", "short line: " + std::string(line));
        // receive: bytes packets errs drop fifo frame compressed multicast; then transmit.
        wire::NetworkDevice d;
        d.device = std::string(name[0]);
        if (!to_u64(w[0], d.receive_bytes) || !to_u64(w[2], d.receive_errors) ||
            !to_u64(w[8], d.transmit_bytes) || !to_u64(w[10], d.transmit_errors))
            return malformed("/proc/net/dev", d.device + ": not a number");
        out.push_back(std::move(d));
    }
    return out;
}

Result<wire::HostMetrics> read_host_metrics(const std::filesystem::path& root) {
    wire::HostMetrics m;
    auto stat = slurp(root / "proc/stat");
    if (!stat) return stat.status();
    if (Status s = parse_proc_stat(*stat, double(sysconf(_SC_CLK_TCK)), m); !s) return s;
    auto meminfo = slurp(root / "proc/meminfo");
    if (!meminfo) return meminfo.status();
    if (Status s = parse_meminfo(*meminfo, m); !s) return s;
    auto loadavg = slurp(root / "proc/loadavg");
    if (!loadavg) return loadavg.status();
    if (Status s = parse_loadavg(*loadavg, m); !s) return s;
    auto uptime = slurp(root / "proc/uptime");
    if (!uptime) return uptime.status();
    if (Status s = parse_uptime(*uptime, m); !s) return s;
    auto net_dev = slurp(root / "proc/net/dev");
    if (!net_dev) return net_dev.status();
    auto network = parse_net_dev(*net_dev);
    if (!network) return network.status();
    m.network = std::move(*network);
    struct statvfs fs {};
    if (statvfs(root.c_str(), &fs) != 0)
        return Status::error(Code::not_found, "statvfs " + root.string() + " failed");
    m.mountpoint = "/";
    m.filesystem_size_bytes = std::uint64_t(fs.f_blocks) * fs.f_frsize;
    m.filesystem_free_bytes = std::uint64_t(fs.f_bfree) * fs.f_frsize;
    m.filesystem_avail_bytes = std::uint64_t(fs.f_bavail) * fs.f_frsize;
    return m;
}

}  // namespace provisioner::agent
