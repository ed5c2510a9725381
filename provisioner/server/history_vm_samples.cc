#include "history_vm_samples.h"

namespace provisioner::server {

SampleSet vm_samples(const wire::VmMetrics& m, SeriesShapes& shapes) {
    using enum SeriesKind;  // gauge, counter
    auto walk = [&m](auto&& emit) {
        // An absent counter is no sample: its id is missing from the shape's key.
        auto optional = [&emit](std::uint8_t id, const char* name, const wire::Counter& v,
                                const std::string& device) {
            if (v) emit(id, counter, name, double(*v), "target_device", device);
        };
        emit(0, counter, "libvirt_domain_info_cpu_time_seconds_total", m.cpu_time_seconds, "", "");
        emit(1, gauge, "libvirt_domain_info_maximum_memory_bytes", double(m.memory_maximum_bytes), "", "");
        emit(2, gauge, "libvirt_domain_info_memory_usage_bytes", double(m.memory_used_bytes), "", "");
        emit(3, gauge, "libvirt_domain_info_virtual_cpus", double(m.vcpus_online), "", "");
        emit(4, gauge, "libvirt_domain_vcpu_maximum", double(m.vcpus_maximum), "", "");
        emit(5, gauge, "libvirt_domain_info_vstate", double(m.state_code), "", "");
        if (!m.cpu_weight_parameter.empty())
            emit(6, gauge, "libvirt_domain_schedinfo_cpu_weight", double(m.cpu_weight), "parameter",
                 m.cpu_weight_parameter);
        for (const wire::VmDiskStats& d : m.disks) {
            optional(7, "libvirt_domain_block_stats_read_bytes_total", d.read_bytes, d.device);
            optional(8, "libvirt_domain_block_stats_read_requests_total", d.read_requests, d.device);
            optional(9, "libvirt_domain_block_stats_write_bytes_total", d.write_bytes, d.device);
            optional(10, "libvirt_domain_block_stats_write_requests_total", d.write_requests, d.device);
        }
        for (const wire::VmInterfaceStats& i : m.interfaces) {
            const std::string& dev = i.device;
            optional(11, "libvirt_domain_interface_stats_receive_bytes_total", i.receive_bytes, dev);
            optional(12, "libvirt_domain_interface_stats_receive_packets_total", i.receive_packets, dev);
            optional(13, "libvirt_domain_interface_stats_receive_errors_total", i.receive_errors, dev);
            optional(14, "libvirt_domain_interface_stats_receive_drops_total", i.receive_drops, dev);
            optional(15, "libvirt_domain_interface_stats_transmit_bytes_total", i.transmit_bytes, dev);
            optional(16, "libvirt_domain_interface_stats_transmit_packets_total", i.transmit_packets, dev);
            optional(17, "libvirt_domain_interface_stats_transmit_errors_total", i.transmit_errors, dev);
            optional(18, "libvirt_domain_interface_stats_transmit_drops_total", i.transmit_drops, dev);
        }
    };
    return shapes.build('v', 7 + 4 * m.disks.size() + 8 * m.interfaces.size(), walk);
}

}  // namespace provisioner::server
