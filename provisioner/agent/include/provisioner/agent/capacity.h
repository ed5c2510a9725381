// What a Dom0 host offers to virtual machines: the capacity object of POST /api/v1/agent/ready.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "provisioner/agent/facts.h"
#include "provisioner/vmhost/process.h"

namespace provisioner::agent {

// The whole machine as Xen sees it. In Xen's control domain /proc/meminfo and /proc/cpuinfo
// describe Dom0's share only (dom0_mem, its vCPUs), not what VMs can have.
struct XenHost {
    int cpus = 0;
    std::uint64_t memory_bytes = 0;
    // What Xen has not given to any domain (Dom0 included) now; nullopt when `xl info` did
    // not say.
    std::optional<std::uint64_t> free_bytes;
};

// True when ROOT/proc/xen/capabilities says this is Xen's control domain ("control_d").
bool is_xen_control_domain(const std::filesystem::path& root);

// `xl info`'s "nr_cpus : N", "total_memory : MiB" and, when present, "free_memory : MiB";
// nullopt when either of the first two is missing.
std::optional<XenHost> parse_xl_info(std::string_view text);

// {"cpus": N, "memory_bytes": M, "disk_free_bytes": F}; F is what the filesystem holding
// storage has free for unprivileged use (0 when it cannot be read). In Xen's control domain N
// and M come from `xl info` (run through RUNNER), else from the facts; `xl` failing there
// falls back to the facts, with a warning on stderr.
nlohmann::json host_capacity(const Facts& facts, const std::filesystem::path& storage,
                             const std::filesystem::path& root, vmhost::ProcessRunner& runner);

}  // namespace provisioner::agent
