#include "provisioner/agent/capacity.h"

#include <sys/statvfs.h>

#include <cstdint>

namespace provisioner::agent {

nlohmann::json host_capacity(const Facts& facts, const std::filesystem::path& storage) {
    struct statvfs st {};
    std::uint64_t free_bytes = 0;
    if (::statvfs(storage.c_str(), &st) == 0) free_bytes = std::uint64_t(st.f_bavail) * st.f_frsize;
    return {{"cpus", facts.cpu_cores},
            {"memory_bytes", facts.memory_bytes},
            {"disk_free_bytes", free_bytes}};
}

}  // namespace provisioner::agent
