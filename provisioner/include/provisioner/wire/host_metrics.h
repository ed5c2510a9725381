// A Dom0 host's own metrics, carried by its report (dom0.h, "metrics"): what the agent reads
// from /proc and statvfs(2) each cycle. Names follow node_exporter's (provisionerd exports them
// as node_* series, server/metrics_text.cc). Every field is optional on the wire: an agent that
// cannot read a file leaves its part out, and a server reads what is there.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace provisioner::wire {

// /proc/net/dev, one interface.
struct NetworkDevice {
    std::string device;  // required, not empty
    std::uint64_t receive_bytes = 0;
    std::uint64_t transmit_bytes = 0;
    std::uint64_t receive_errors = 0;
    std::uint64_t transmit_errors = 0;
    bool operator==(const NetworkDevice&) const = default;
};

// {"cpu_seconds"?: {mode: seconds}, "memory_total_bytes"?, "memory_available_bytes"?,
//  "load1"?, "load5"?, "load15"?, "boot_time_seconds"?, "uptime_seconds"?,
//  "network"?: [{"device", "receive_bytes"?, ...}],
//  "filesystem"?: {"mountpoint"?, "size_bytes"?, "free_bytes"?, "avail_bytes"?}}
struct HostMetrics {
    // All CPUs together, by /proc/stat's modes (user, nice, system, idle, iowait, irq,
    // softirq, steal); a mode this side does not know is ignored.
    std::map<std::string, double> cpu_seconds;
    std::uint64_t memory_total_bytes = 0;
    std::uint64_t memory_available_bytes = 0;
    double load1 = 0, load5 = 0, load15 = 0;
    double boot_time_seconds = 0;  // Unix time (/proc/stat btime)
    double uptime_seconds = 0;     // /proc/uptime
    std::vector<NetworkDevice> network;
    std::string mountpoint = "/";  // the filesystem below
    std::uint64_t filesystem_size_bytes = 0;
    std::uint64_t filesystem_free_bytes = 0;
    std::uint64_t filesystem_avail_bytes = 0;  // free to unprivileged users
    bool operator==(const HostMetrics&) const = default;
};

// The modes cpu_seconds may hold, in /proc/stat's order.
const std::vector<std::string>& cpu_modes();

}  // namespace provisioner::wire
