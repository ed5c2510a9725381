#include "metrics_vms.h"

#include "metrics_text.h"

namespace provisioner::server {
namespace {

using exposition::append_label;
using exposition::append_sample;
using exposition::FamilyPart;
using exposition::number;

constexpr std::uint64_t kMiB = 1024 * 1024;

// A per-VM family whose value comes from the metrics when reported (only), or with a fallback
// from the report; an empty value: no sample.
FamilyPart vm_family(const std::vector<VmRow>& rows, const char* name, const char* type,
                     const char* help, std::string (*value)(const VmRow&)) {
    return {name, type, help, false, rows.size(), [all = &rows, name, value](std::string& out, std::size_t i) {
                const VmRow& r = (*all)[i];
                const std::string v = value(r);
                if (!v.empty()) append_sample(out, name, r.labels, v);
            }};
}

template <class Device>
struct DeviceSeries {
    const char* name;
    const char* help;
    wire::Counter Device::*field;
};

}  // namespace

std::vector<VmRow> vm_rows(const std::vector<HostReport>& reports,
                           const LatestVmMetrics::Snapshot& latest,
                           const std::map<HostId, std::string>& hosts) {
    std::vector<VmRow> rows;
    for (const HostReport& r : reports) {
        auto host = hosts.find(r.host);
        if (host == hosts.end()) continue;  // removed since it reported
        auto entry = latest.find(r.host);
        for (const ReportedVm& vm : r.vms) {
            const wire::VmMetrics* m =
                entry != latest.end() && entry->second ? entry->second->find(vm.name) : nullptr;
            std::string labels = host->second;
            labels += ',';
            append_label(labels, "domain", vm.name);
            // No uuid label when it is not known: Prometheus reads an empty label as absent.
            if (m && !m->uuid.empty()) {
                labels += ',';
                append_label(labels, "uuid", m->uuid);
            }
            rows.push_back({std::move(labels), &vm, m});
        }
    }
    return rows;
}

void add_vm_families(std::vector<FamilyPart>& families, const std::vector<VmRow>& rows,
                     bool devices) {
    families.push_back(vm_family(
        rows, "libvirt_domain_info_maximum_memory_bytes", "gauge",
        "Maximum allowed memory of the domain, in bytes.", [](const VmRow& r) {
            return number(r.m ? r.m->memory_maximum_bytes : r.vm->memory_mib * kMiB);
        }));
    families.push_back(vm_family(rows, "libvirt_domain_info_memory_usage_bytes", "gauge",
                                 "Memory usage of the domain (its current balloon), in bytes.",
                                 [](const VmRow& r) {
                                     return r.m ? number(r.m->memory_used_bytes) : std::string();
                                 }));
    families.push_back(vm_family(
        rows, "libvirt_domain_info_virtual_cpus", "gauge",
        "Number of virtual CPUs online in the domain.", [](const VmRow& r) {
            return number(std::uint64_t(r.m ? r.m->vcpus_online : r.vm->vcpus));
        }));
    families.push_back(vm_family(
        rows, "libvirt_domain_vcpu_maximum", "gauge", "Number of virtual CPUs the domain may have.",
        [](const VmRow& r) {
            return r.m ? number(std::uint64_t(r.m->vcpus_maximum)) : std::string();
        }));
    families.push_back(vm_family(
        rows, "libvirt_domain_info_cpu_time_seconds_total", "counter",
        "Amount of CPU time used by the domain, all vCPUs together, in seconds.",
        [](const VmRow& r) { return r.m ? number(r.m->cpu_time_seconds) : std::string(); }));
    families.push_back(vm_family(
        rows, "libvirt_domain_info_vstate", "gauge",
        "Virtual domain state: 0 no state, 1 running, 2 blocked, 3 paused, 4 being shut down, "
        "5 shut off, 6 crashed, 7 suspended by guest power management.",
        [](const VmRow& r) {
            return number(
                std::uint64_t(r.m ? r.m->state_code : libvirt_domain_state(r.vm->state)));
        }));
    families.push_back(
        {"libvirt_domain_schedinfo_cpu_weight", "gauge",
         "The domain's CPU scheduler weight; parameter names it: weight (Xen's credit "
         "schedulers) or cpu_shares (KVM's cgroups).",
         false, rows.size(), [all = &rows](std::string& out, std::size_t i) {
             const VmRow& r = (*all)[i];
             if (!r.m || r.m->cpu_weight_parameter.empty()) return;
             std::string labels = r.labels;
             labels += ',';
             append_label(labels, "parameter", r.m->cpu_weight_parameter);
             append_sample(out, "libvirt_domain_schedinfo_cpu_weight", labels,
                           number(r.m->cpu_weight));
         }});
    if (!devices) return;

    static const DeviceSeries<wire::VmDiskStats> disk_series[] = {
        {"libvirt_domain_block_stats_read_bytes_total",
         "Number of bytes read from a block device, in bytes.", &wire::VmDiskStats::read_bytes},
        {"libvirt_domain_block_stats_read_requests_total",
         "Number of read requests from a block device.", &wire::VmDiskStats::read_requests},
        {"libvirt_domain_block_stats_write_bytes_total",
         "Number of bytes written to a block device, in bytes.", &wire::VmDiskStats::write_bytes},
        {"libvirt_domain_block_stats_write_requests_total",
         "Number of write requests to a block device.", &wire::VmDiskStats::write_requests},
    };
    for (const auto& s : disk_series)
        families.push_back({s.name, "counter", s.help, false, rows.size(),
                            [all = &rows, &s](std::string& out, std::size_t i) {
                                const VmRow& r = (*all)[i];
                                if (!r.m) return;
                                for (const wire::VmDiskStats& d : r.m->disks)
                                    if (const wire::Counter& v = d.*s.field) {
                                        std::string labels = r.labels;
                                        labels += ',';
                                        append_label(labels, "target_device", d.device);
                                        labels += ',';
                                        append_label(labels, "source_file", d.source);
                                        append_sample(out, s.name, labels, number(*v));
                                    }
                            }});

    static const DeviceSeries<wire::VmInterfaceStats> nic_series[] = {
        {"libvirt_domain_interface_stats_receive_bytes_total",
         "Number of bytes received on a network interface, in bytes.",
         &wire::VmInterfaceStats::receive_bytes},
        {"libvirt_domain_interface_stats_receive_packets_total",
         "Number of packets received on a network interface.",
         &wire::VmInterfaceStats::receive_packets},
        {"libvirt_domain_interface_stats_receive_errors_total",
         "Number of packet receive errors on a network interface.",
         &wire::VmInterfaceStats::receive_errors},
        {"libvirt_domain_interface_stats_receive_drops_total",
         "Number of packet receive drops on a network interface.",
         &wire::VmInterfaceStats::receive_drops},
        {"libvirt_domain_interface_stats_transmit_bytes_total",
         "Number of bytes transmitted on a network interface, in bytes.",
         &wire::VmInterfaceStats::transmit_bytes},
        {"libvirt_domain_interface_stats_transmit_packets_total",
         "Number of packets transmitted on a network interface.",
         &wire::VmInterfaceStats::transmit_packets},
        {"libvirt_domain_interface_stats_transmit_errors_total",
         "Number of packet transmit errors on a network interface.",
         &wire::VmInterfaceStats::transmit_errors},
        {"libvirt_domain_interface_stats_transmit_drops_total",
         "Number of packet transmit drops on a network interface.",
         &wire::VmInterfaceStats::transmit_drops},
    };
    for (const auto& s : nic_series)
        families.push_back({s.name, "counter", s.help, false, rows.size(),
                            [all = &rows, &s](std::string& out, std::size_t i) {
                                const VmRow& r = (*all)[i];
                                if (!r.m) return;
                                for (const wire::VmInterfaceStats& n : r.m->interfaces)
                                    if (const wire::Counter& v = n.*s.field) {
                                        std::string labels = r.labels;
                                        labels += ',';
                                        append_label(labels, "target_device", n.device);
                                        append_sample(out, s.name, labels, number(*v));
                                    }
                            }});
}

}  // namespace provisioner::server
