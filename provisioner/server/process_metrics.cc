#include "process_metrics.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <vector>

#include "exposition.h"

namespace provisioner::server {
namespace {

std::string read_all(const char* path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::optional<double> boot_time() {
    std::istringstream in(read_all("/proc/stat"));
    std::string key;
    double value = 0;
    while (in >> key) {
        if (key == "btime" && in >> value) return value;
        in.ignore(1 << 20, '\n');
    }
    return std::nullopt;
}

template <class T>
bool parse(std::string_view text, T& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::optional<ProcessStats> parse_proc_stat(std::string_view stat, long ticks_per_second,
                                            long page_size, double boot_time_seconds) {
    // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so the fields
    // start after the last ')'.
    auto close = stat.rfind(')');
    if (close == std::string_view::npos || ticks_per_second <= 0 || page_size <= 0)
        return std::nullopt;
    std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
    std::string_view rest = stat.substr(close + 1);
    while (!rest.empty()) {
        auto start = rest.find_first_not_of(" \n");
        if (start == std::string_view::npos) break;
        rest.remove_prefix(start);
        auto end = rest.find_first_of(" \n");
        fields.push_back(rest.substr(0, end));
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end);
    }
    auto field = [&](std::size_t n) { return fields[n - 3]; };  // proc(5)'s numbering
    if (fields.size() < 24 - 2) return std::nullopt;
    std::uint64_t utime = 0, stime = 0, threads = 0, start = 0, vsize = 0, rss = 0;
    if (!parse(field(14), utime) || !parse(field(15), stime) || !parse(field(20), threads) ||
        !parse(field(22), start) || !parse(field(23), vsize) || !parse(field(24), rss))
        return std::nullopt;
    ProcessStats s;
    s.cpu_seconds = double(utime + stime) / double(ticks_per_second);
    s.threads = threads;
    s.start_time_seconds = boot_time_seconds + double(start) / double(ticks_per_second);
    s.virtual_bytes = vsize;
    s.resident_bytes = rss * std::uint64_t(page_size);
    return s;
}

void write_process_metrics(std::string& out) {
    using exposition::Family;
    using exposition::number;
    auto btime = boot_time();
    auto stats = parse_proc_stat(read_all("/proc/self/stat"), sysconf(_SC_CLK_TCK),
                                 sysconf(_SC_PAGESIZE), btime.value_or(0));
    if (stats) {
        Family(out, "process_cpu_seconds_total", "counter",
               "User and system CPU time of provisionerd, all threads, in seconds.")
            .sample({}, number(stats->cpu_seconds));
        Family(out, "process_resident_memory_bytes", "gauge", "Resident memory of provisionerd.")
            .sample({}, number(stats->resident_bytes));
        Family(out, "process_virtual_memory_bytes", "gauge", "Virtual memory of provisionerd.")
            .sample({}, number(stats->virtual_bytes));
        if (btime)
            Family(out, "process_start_time_seconds", "gauge",
                   "When provisionerd started, Unix time.")
                .sample({}, number(stats->start_time_seconds));
        Family(out, "process_threads", "gauge", "Threads of provisionerd.")
            .sample({}, number(stats->threads));
    }
    std::error_code ec;
    std::uint64_t fds = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++fds;
    if (!ec)
        Family(out, "process_open_fds", "gauge", "Open file descriptors of provisionerd.")
            .sample({}, number(fds));
}

}  // namespace provisioner::server
