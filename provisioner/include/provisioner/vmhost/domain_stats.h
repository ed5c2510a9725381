// What libvirt says about one domain's use of its host, in libvirt's own units and with its
// own "-1: this driver does not give it": virDomainGetInfo, the maximum vCPUs, the
// scheduler's parameters (virDomainGetSchedulerParametersFlags), and virDomainBlockStats /
// virDomainInterfaceStats of each disk and interface the domain's XML names. The agent maps
// it to the report's units (agent/vm_metrics.h), so the mapping is tested without libvirt.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace provisioner::vmhost {

// One scheduler parameter with a numeric value ("weight", "cap", "cpu_shares",
// "vcpu_period", ...); string parameters are left out.
struct SchedulerParam {
    std::string field;
    double value = 0;
};

// virDomainBlockStatsStruct of the disk with this target ("vda").
struct BlockStats {
    std::string target;
    std::string source;  // its file or block device ("" for none, e.g. an empty CD-ROM)
    long long rd_req = -1, rd_bytes = -1, wr_req = -1, wr_bytes = -1;
};

// virDomainInterfaceStatsStruct of one interface, named by its target ("vnet0") or, when the
// XML gives none, its MAC (libvirt takes either).
struct InterfaceStats {
    std::string device;
    long long rx_bytes = -1, rx_packets = -1, rx_errs = -1, rx_drop = -1;
    long long tx_bytes = -1, tx_packets = -1, tx_errs = -1, tx_drop = -1;
};

struct DomainStats {
    std::string name;
    std::string uuid;
    int state = 0;  // virDomainState (VIR_DOMAIN_RUNNING, ...), unmapped
    std::uint64_t cpu_time_ns = 0;
    std::uint64_t max_memory_kib = 0;
    std::uint64_t memory_kib = 0;
    unsigned vcpus = 0;   // nrVirtCpu: online now
    int max_vcpus = -1;   // the most it may have; -1 when libvirt would not say
    std::vector<SchedulerParam> scheduler;
    // Block and interface statistics exist only while the domain runs: empty otherwise.
    std::vector<BlockStats> disks;
    std::vector<InterfaceStats> interfaces;
};

}  // namespace provisioner::vmhost
