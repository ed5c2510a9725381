#include "provisioner/agent/capacity.h"

#include <sys/statvfs.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace provisioner::agent {
namespace {

// "key : value" lines of `xl info`.
std::optional<std::uint64_t> xl_number(std::string_view text, std::string_view key) {
    std::istringstream in{std::string(text)};
    std::string line;
    while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        auto name = line.substr(0, colon);
        name.erase(name.find_last_not_of(" \t") + 1);
        if (name != key) continue;
        try {
            return std::stoull(line.substr(colon + 1));
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    return std::nullopt;
}

}  // namespace

bool is_xen_control_domain(const std::filesystem::path& root) {
    std::ifstream in(root / "proc/xen/capabilities");
    std::string caps;
    std::getline(in, caps);
    return caps.find("control_d") != std::string::npos;
}

std::optional<XenHost> parse_xl_info(std::string_view text) {
    auto cpus = xl_number(text, "nr_cpus");
    auto mib = xl_number(text, "total_memory");
    if (!cpus || !mib || *cpus == 0 || *mib == 0) return std::nullopt;
    XenHost host{int(*cpus), *mib << 20, std::nullopt};
    if (auto free_mib = xl_number(text, "free_memory")) host.free_bytes = *free_mib << 20;
    return host;
}

nlohmann::json host_capacity(const Facts& facts, const std::filesystem::path& storage,
                             const std::filesystem::path& root, vmhost::ProcessRunner& runner) {
    struct statvfs st {};
    std::uint64_t free_bytes = 0;
    if (::statvfs(storage.c_str(), &st) == 0) free_bytes = std::uint64_t(st.f_bavail) * st.f_frsize;
    nlohmann::json capacity = {{"cpus", facts.cpu_cores},
                               {"memory_bytes", facts.memory_bytes},
                               {"disk_free_bytes", free_bytes}};
    if (!is_xen_control_domain(root)) return capacity;
    auto ran = runner.run({"xl", "info"});
    std::optional<XenHost> xen;
    if (ran && ran->exit_code == 0) xen = parse_xl_info(ran->out);
    if (!xen) {
        std::cerr << "agent: warning: in Xen's Dom0 but `xl info` gave no host size ("
                  << (ran ? ran->err : ran.status().message())
                  << "); reporting Dom0's own CPUs and memory\n";
        return capacity;
    }
    capacity["cpus"] = xen->cpus;
    capacity["memory_bytes"] = xen->memory_bytes;
    return capacity;
}

}  // namespace provisioner::agent
