#include "provisioner/agent/facts.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace provisioner::agent {
namespace fs = std::filesystem;
namespace {

std::string read_text(const fs::path& file) {
    std::ifstream in(file);
    if (!in) return "";
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string trim(std::string s) {
    auto space = [](unsigned char c) { return std::isspace(c) != 0; };
    while (!s.empty() && space(s.back())) s.pop_back();
    std::size_t start = 0;
    while (start < s.size() && space(s[start])) ++start;
    return s.substr(start);
}

std::optional<std::int64_t> read_number(const fs::path& file) {
    std::string text = trim(read_text(file));
    if (text.empty()) return std::nullopt;
    try {
        std::size_t used = 0;
        long long value = std::stoll(text, &used);
        if (used != text.size()) return std::nullopt;
        return value;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void read_cpu(const fs::path& root, Facts& f) {
    std::istringstream in(read_text(root / "proc/cpuinfo"));
    for (std::string line; std::getline(in, line);) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string key = trim(line.substr(0, colon));
        std::string value = trim(line.substr(colon + 1));
        if (key == "processor") ++f.cpu_cores;
        // x86 says "model name"; some ARM kernels only "Hardware" or "Processor".
        if (f.cpu_model.empty() && (key == "model name" || key == "Hardware" || key == "Processor"))
            f.cpu_model = value;
    }
}

void read_memory(const fs::path& root, Facts& f) {
    std::istringstream in(read_text(root / "proc/meminfo"));
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with("MemTotal:")) continue;
        std::istringstream fields(line.substr(9));
        std::uint64_t kib = 0;
        if (fields >> kib) f.memory_bytes = kib * 1024;
        return;
    }
}

bool is_virtual_disk(const std::string& name) {
    return name.starts_with("loop") || name.starts_with("ram") || name.starts_with("zram");
}

std::vector<fs::directory_entry> sorted_entries(const fs::path& dir) {
    std::vector<fs::directory_entry> entries;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        entries.push_back(*it);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        return a.path().filename() < b.path().filename();
    });
    return entries;
}

void read_disks(const fs::path& root, const std::string& include_disk, Facts& f) {
    std::string wanted = fs::path(include_disk).filename().string();
    for (const auto& entry : sorted_entries(root / "sys/block")) {
        std::string name = entry.path().filename().string();
        if (is_virtual_disk(name) && name != wanted) continue;
        const fs::path& dir = entry.path();
        DiskFact d;
        d.name = name;
        d.path = "/dev/" + name;
        // The size file counts 512-byte sectors whatever the device's block size.
        d.size_bytes =
            std::uint64_t(std::max<std::int64_t>(0, read_number(dir / "size").value_or(0))) * 512;
        d.model = trim(read_text(dir / "device/model"));
        d.rotational = read_number(dir / "queue/rotational").value_or(0) == 1;
        d.removable = read_number(dir / "removable").value_or(0) == 1;
        f.disks.push_back(std::move(d));
    }
}

void read_nics(const fs::path& root, Facts& f) {
    for (const auto& entry : sorted_entries(root / "sys/class/net")) {
        std::string name = entry.path().filename().string();
        if (name == "lo") continue;
        const fs::path& dir = entry.path();
        NicFact n;
        n.name = name;
        n.mac = trim(read_text(dir / "address"));
        // speed reads as -1 (or fails with EINVAL) while the link is down.
        if (auto speed = read_number(dir / "speed"); speed && *speed > 0)
            n.speed_mbps = std::uint32_t(*speed);
        n.up = trim(read_text(dir / "operstate")) == "up";
        f.nics.push_back(std::move(n));
    }
}

}  // namespace

Facts collect_facts(const fs::path& root, const std::string& include_disk) {
    Facts f;
    f.hostname = trim(read_text(root / "proc/sys/kernel/hostname"));
    read_cpu(root, f);
    read_memory(root, f);
    read_disks(root, include_disk, f);
    read_nics(root, f);
    return f;
}

nlohmann::json facts_to_json(const Facts& f) {
    nlohmann::json disks = nlohmann::json::array();
    for (const auto& d : f.disks)
        disks.push_back({{"name", d.name},
                         {"path", d.path},
                         {"size_bytes", d.size_bytes},
                         {"model", d.model},
                         {"rotational", d.rotational},
                         {"removable", d.removable}});
    nlohmann::json nics = nlohmann::json::array();
    for (const auto& n : f.nics)
        nics.push_back({{"name", n.name},
                        {"mac", n.mac},
                        {"speed_mbps", n.speed_mbps ? nlohmann::json(*n.speed_mbps) : nullptr},
                        {"up", n.up}});
    return {{"hostname", f.hostname},
            {"cpu", {{"model", f.cpu_model}, {"cores", f.cpu_cores}}},
            {"memory_bytes", f.memory_bytes},
            {"disks", std::move(disks)},
            {"nics", std::move(nics)}};
}

}  // namespace provisioner::agent
