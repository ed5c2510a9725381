// `provisioner top`: each host and its VMs by CPU and memory, from the latest values of the
// metrics history (GET /api/v1/metrics/latest) and the VMs the hosts report (GET
// /api/v1/vms). Pure functions of those two documents, so they are tested without a server.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace provisioner::cli {

// NaN where the server has no value yet (a counter's rate needs two reports).
struct TopVm {
    std::string name;
    std::string state;        // as the host reports it
    double cpu_percent = 0;   // of its vCPUs
    double memory_bytes = 0;  // in use (libvirt's), else what it was given
    std::uint32_t vcpus = 0;
};

struct TopHost {
    std::string name;
    double cpu_percent = 0;        // busy (all modes but idle and iowait) of all its CPUs
    double cpus = 0;               // CPU seconds per second over all modes: its CPU count
    double memory_used_bytes = 0;  // MemTotal - MemAvailable
    double memory_total_bytes = 0;
    double load1 = 0;
    double receive_bytes_per_second = 0;  // every interface but lo
    double transmit_bytes_per_second = 0;
    std::vector<TopVm> vms;
};

enum class TopSort { cpu, memory, name };

// Hosts sorted by sort (largest first; NaN last), each host's VMs likewise. A host with VMs
// but no metrics yet is listed with NaN values; VMs of hosts not in latest are left out.
std::vector<TopHost> top_rows(const nlohmann::json& latest, const nlohmann::json& vms,
                              TopSort sort);
// {"hosts": [{"name", "cpu_percent", "cpus", "memory_used_bytes", "memory_total_bytes",
// "load1", "receive_bytes_per_second", "transmit_bytes_per_second", "vms": [{"name", "state",
// "cpu_percent", "memory_bytes", "vcpus"}]}]}, null for NaN.
nlohmann::json top_json(const std::vector<TopHost>& hosts);
// The table's lines (without '\n'): a header, a host per line, its VMs indented below it.
std::vector<std::string> top_lines(const std::vector<TopHost>& hosts);

}  // namespace provisioner::cli
