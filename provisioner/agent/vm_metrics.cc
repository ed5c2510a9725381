#include "provisioner/agent/vm_metrics.h"

namespace provisioner::agent {
namespace {

constexpr std::uint64_t kKiB = 1024;

wire::Counter counter(long long libvirt_value) {
    if (libvirt_value < 0) return std::nullopt;
    return std::uint64_t(libvirt_value);
}

}  // namespace

wire::VmMetrics vm_metrics(const vmhost::DomainStats& s) {
    wire::VmMetrics m;
    m.uuid = s.uuid;
    m.state_code = s.state >= 0 && s.state <= wire::kMaxStateCode ? s.state : 0;
    m.cpu_time_seconds = double(s.cpu_time_ns) / 1e9;
    for (const char* wanted : {"weight", "cpu_shares"}) {
        if (!m.cpu_weight_parameter.empty()) break;
        for (const vmhost::SchedulerParam& p : s.scheduler) {
            if (p.field != wanted || !(p.value >= 0)) continue;
            m.cpu_weight_parameter = p.field;
            m.cpu_weight = std::uint64_t(p.value);
            break;
        }
    }
    m.memory_maximum_bytes = s.max_memory_kib * kKiB;
    m.memory_used_bytes = s.memory_kib * kKiB;
    m.vcpus_online = s.vcpus;
    m.vcpus_maximum = s.max_vcpus >= 0 ? unsigned(s.max_vcpus) : s.vcpus;
    for (const vmhost::BlockStats& b : s.disks)
        m.disks.push_back({b.target, b.source, counter(b.rd_bytes), counter(b.rd_req),
                           counter(b.wr_bytes), counter(b.wr_req)});
    for (const vmhost::InterfaceStats& i : s.interfaces)
        m.interfaces.push_back({i.device, counter(i.rx_bytes), counter(i.rx_packets),
                                counter(i.rx_errs), counter(i.rx_drop), counter(i.tx_bytes),
                                counter(i.tx_packets), counter(i.tx_errs), counter(i.tx_drop)});
    return m;
}

}  // namespace provisioner::agent
