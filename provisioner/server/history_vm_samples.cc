#include "history_vm_samples.h"

namespace provisioner::server {

std::vector<Sample> vm_samples(const wire::VmMetrics& m) {
    std::vector<Sample> out;
    out.reserve(7 + 4 * m.disks.size() + 8 * m.interfaces.size());  // no regrowth
    auto gauge = [&](const char* name, double v, Labels labels = {}) {
        out.push_back({{name, std::move(labels), SeriesKind::gauge}, v});
    };
    auto counter = [&](const char* name, const wire::Counter& v, const Labels& labels) {
        if (v) out.push_back({{name, labels, SeriesKind::counter}, double(*v)});
    };
    out.push_back({{"libvirt_domain_info_cpu_time_seconds_total", {}, SeriesKind::counter},
                   m.cpu_time_seconds});
    gauge("libvirt_domain_info_maximum_memory_bytes", double(m.memory_maximum_bytes));
    gauge("libvirt_domain_info_memory_usage_bytes", double(m.memory_used_bytes));
    gauge("libvirt_domain_info_virtual_cpus", m.vcpus_online);
    gauge("libvirt_domain_vcpu_maximum", m.vcpus_maximum);
    gauge("libvirt_domain_info_vstate", m.state_code);
    if (!m.cpu_weight_parameter.empty())
        gauge("libvirt_domain_schedinfo_cpu_weight", double(m.cpu_weight),
              {{"parameter", m.cpu_weight_parameter}});
    for (const wire::VmDiskStats& d : m.disks) {
        const Labels dev = {{"target_device", d.device}};
        counter("libvirt_domain_block_stats_read_bytes_total", d.read_bytes, dev);
        counter("libvirt_domain_block_stats_read_requests_total", d.read_requests, dev);
        counter("libvirt_domain_block_stats_write_bytes_total", d.write_bytes, dev);
        counter("libvirt_domain_block_stats_write_requests_total", d.write_requests, dev);
    }
    for (const wire::VmInterfaceStats& i : m.interfaces) {
        const Labels dev = {{"target_device", i.device}};
        counter("libvirt_domain_interface_stats_receive_bytes_total", i.receive_bytes, dev);
        counter("libvirt_domain_interface_stats_receive_packets_total", i.receive_packets, dev);
        counter("libvirt_domain_interface_stats_receive_errors_total", i.receive_errors, dev);
        counter("libvirt_domain_interface_stats_receive_drops_total", i.receive_drops, dev);
        counter("libvirt_domain_interface_stats_transmit_bytes_total", i.transmit_bytes, dev);
        counter("libvirt_domain_interface_stats_transmit_packets_total", i.transmit_packets, dev);
        counter("libvirt_domain_interface_stats_transmit_errors_total", i.transmit_errors, dev);
        counter("libvirt_domain_interface_stats_transmit_drops_total", i.transmit_drops, dev);
    }
    return out;
}

}  // namespace provisioner::server
