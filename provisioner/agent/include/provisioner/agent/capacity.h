// What a Dom0 host offers to virtual machines: the capacity object of POST /api/v1/agent/ready.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "provisioner/agent/facts.h"

namespace provisioner::agent {

// {"cpus": N, "memory_bytes": M, "disk_free_bytes": F}; F is what the filesystem holding
// storage has free for unprivileged use (0 when it cannot be read).
nlohmann::json host_capacity(const Facts& facts, const std::filesystem::path& storage);

}  // namespace provisioner::agent
