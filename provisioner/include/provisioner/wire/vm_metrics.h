// One VM's metrics as libvirt gives them, carried by its Dom0 report (dom0.h,
// "vms[i].metrics"): the agent reads them each cycle (agent/vm_metrics.h maps libvirt's
// numbers to these units) and provisionerd exports them under prometheus-libvirt-exporter's
// names (server/metrics_vms.cc). Base units: seconds, bytes. A counter libvirt does not give
// for a device (its -1) is absent on the wire and std::nullopt here, never a made-up 0.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace provisioner::wire {

using Counter = std::optional<std::uint64_t>;

// virDomainBlockStats of one disk: {"device", "source"?, "read_bytes"?, "read_requests"?,
// "write_bytes"?, "write_requests"?}; device (its target, "vda") required, not empty.
struct VmDiskStats {
    std::string device;
    std::string source;  // the file or block device behind it; "" when it has none
    Counter read_bytes, read_requests, write_bytes, write_requests;
    bool operator==(const VmDiskStats&) const = default;
};

// virDomainInterfaceStats of one interface: {"device", "receive_bytes"?, "receive_packets"?,
// "receive_errors"?, "receive_drops"?, "transmit_bytes"?, ...}; device (its target, "vnet0",
// or its MAC when libvirt names no target) required, not empty.
struct VmInterfaceStats {
    std::string device;
    Counter receive_bytes, receive_packets, receive_errors, receive_drops;
    Counter transmit_bytes, transmit_packets, transmit_errors, transmit_drops;
    bool operator==(const VmInterfaceStats&) const = default;
};

// {"uuid"?, "state_code"?, "cpu_time_seconds"?, "cpu_weight"?, "cpu_weight_parameter"?,
//  "memory_maximum_bytes"?, "memory_used_bytes"?, "vcpus_online"?, "vcpus_maximum"?,
//  "disks"?: [VmDiskStats], "interfaces"?: [VmInterfaceStats]}
struct VmMetrics {
    std::string uuid;
    int state_code = 0;           // virDomainState: 1 running, 3 paused, 5 shut off, ... (0..7)
    double cpu_time_seconds = 0;  // all vCPUs together since the domain started
    // The scheduler's share of the domain: Xen credit's (and the test driver's) "weight",
    // or KVM's cgroup "cpu_shares"; the parameter's name says which ("" and 0: none known).
    std::string cpu_weight_parameter;
    std::uint64_t cpu_weight = 0;
    std::uint64_t memory_maximum_bytes = 0;
    std::uint64_t memory_used_bytes = 0;  // the balloon's current size (virDomainInfo.memory)
    std::uint32_t vcpus_online = 0;
    std::uint32_t vcpus_maximum = 0;
    std::vector<VmDiskStats> disks;
    std::vector<VmInterfaceStats> interfaces;
    bool operator==(const VmMetrics&) const = default;
};

// The highest virDomainState state_code may hold (VIR_DOMAIN_PMSUSPENDED).
inline constexpr int kMaxStateCode = 7;

}  // namespace provisioner::wire
