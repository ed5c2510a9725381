// What a host is made of, read from /proc and /sys: what the agent reports in its hello and
// what `provisioner-agent facts` prints. Everything is read under a root directory, so tests
// hand the collector a fake tree.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace provisioner::agent {

struct DiskFact {
    std::string name;  // "sda"
    std::string path;  // "/dev/sda"
    std::uint64_t size_bytes = 0;
    std::string model;  // "" when the device has none (virtio, loop)
    bool rotational = false;
    bool removable = false;
};

struct NicFact {
    std::string name;                         // "eth0"
    std::string mac;                          // "52:54:00:00:00:01"
    std::optional<std::uint32_t> speed_mbps;  // unknown when the link is down or virtual
    bool up = false;
};

struct Facts {
    std::string hostname;
    std::string cpu_model;
    unsigned cpu_cores = 0;  // logical CPUs
    std::uint64_t memory_bytes = 0;
    std::vector<DiskFact> disks;  // sorted by name
    std::vector<NicFact> nics;    // sorted by name
};

// Reads ROOT/proc/cpuinfo, ROOT/proc/meminfo, ROOT/proc/sys/kernel/hostname, ROOT/sys/block/*
// and ROOT/sys/class/net/*. Disks named loop*, ram* and zram* are left out unless one is
// include_disk ("/dev/loop3" or "loop3"); the NIC lo is left out. A file that cannot be read
// leaves its field at its default: facts are best effort, never an error.
Facts collect_facts(const std::filesystem::path& root, const std::string& include_disk = "");

// The facts object of the agent's hello (provisioner/API.md).
nlohmann::json facts_to_json(const Facts& facts);

}  // namespace provisioner::agent
