#include "metrics_vms.h"

#include <functional>

#include "metrics_text.h"

namespace provisioner::server {
namespace {

using exposition::Family;
using exposition::Labels;
using exposition::number;

constexpr std::uint64_t kMiB = 1024 * 1024;

// One VM as the families see it.
struct Row {
    Labels labels;                        // host, rack, domain, uuid (when known)
    const ReportedVm* vm;                 // from the report
    const wire::VmMetrics* m = nullptr;   // its libvirt metrics, if reported
};

std::vector<Row> rows_of(const std::vector<HostReport>& reports,
                         const LatestVmMetrics::Snapshot& latest,
                         const std::map<HostId, HostLabels>& hosts) {
    std::vector<Row> rows;
    for (const HostReport& r : reports) {
        auto host = hosts.find(r.host);
        if (host == hosts.end()) continue;  // removed since it reported
        auto entry = latest.find(r.host);
        for (const ReportedVm& vm : r.vms) {
            const wire::VmMetrics* m =
                entry != latest.end() && entry->second ? entry->second->find(vm.name) : nullptr;
            // No uuid label when it is not known: Prometheus reads an empty label as absent.
            Labels labels = host->second.with({{"domain", vm.name}});
            if (m && !m->uuid.empty()) labels.push_back({"uuid", m->uuid});
            rows.push_back({std::move(labels), &vm, m});
        }
    }
    return rows;
}

Labels with(const Labels& base, Labels more) {
    Labels l = base;
    l.insert(l.end(), more.begin(), more.end());
    return l;
}

// Writes a family only when it has a sample.
void family(std::string& out, const char* name, const char* type, const char* help,
            const std::function<void(Family&)>& samples) {
    std::string text;
    Family f(text, name, type, help);
    const std::size_t header = text.size();
    samples(f);
    if (text.size() > header) out += text;
}

// A per-VM value, from the metrics when reported (only), or with a fallback from the report.
struct VmSeries {
    const char* name;
    const char* type;
    const char* help;
    std::function<std::optional<std::string>(const Row&)> value;  // nullopt: no sample
};

template <class Device>
struct DeviceSeries {
    const char* name;
    const char* help;
    wire::Counter Device::*field;
};

}  // namespace

void vm_metrics_text(std::string& out, const std::vector<HostReport>& reports,
                     const LatestVmMetrics::Snapshot& latest,
                     const std::map<HostId, HostLabels>& hosts, bool devices) {
    const std::vector<Row> rows = rows_of(reports, latest, hosts);
    if (rows.empty()) return;
    using Value = std::optional<std::string>;
    const VmSeries vm_series[] = {
        {"libvirt_domain_info_maximum_memory_bytes", "gauge",
         "Maximum allowed memory of the domain, in bytes.",
         [](const Row& r) -> Value {
             return number(r.m ? r.m->memory_maximum_bytes : r.vm->memory_mib * kMiB);
         }},
        {"libvirt_domain_info_memory_usage_bytes", "gauge",
         "Memory usage of the domain (its current balloon), in bytes.",
         [](const Row& r) -> Value {
             if (!r.m) return std::nullopt;
             return number(r.m->memory_used_bytes);
         }},
        {"libvirt_domain_info_virtual_cpus", "gauge", "Number of virtual CPUs online in the domain.",
         [](const Row& r) -> Value {
             return number(std::uint64_t(r.m ? r.m->vcpus_online : r.vm->vcpus));
         }},
        {"libvirt_domain_vcpu_maximum", "gauge", "Number of virtual CPUs the domain may have.",
         [](const Row& r) -> Value {
             if (!r.m) return std::nullopt;
             return number(std::uint64_t(r.m->vcpus_maximum));
         }},
        {"libvirt_domain_info_cpu_time_seconds_total", "counter",
         "Amount of CPU time used by the domain, all vCPUs together, in seconds.",
         [](const Row& r) -> Value {
             if (!r.m) return std::nullopt;
             return number(r.m->cpu_time_seconds);
         }},
        {"libvirt_domain_info_vstate", "gauge",
         "Virtual domain state: 0 no state, 1 running, 2 blocked, 3 paused, 4 being shut down, "
         "5 shut off, 6 crashed, 7 suspended by guest power management.",
         [](const Row& r) -> Value {
             return number(std::uint64_t(r.m ? r.m->state_code : libvirt_domain_state(r.vm->state)));
         }},
    };
    for (const VmSeries& s : vm_series)
        family(out, s.name, s.type, s.help, [&](Family& f) {
            for (const Row& r : rows)
                if (auto v = s.value(r)) f.sample(r.labels, *v);
        });
    family(out, "libvirt_domain_schedinfo_cpu_weight", "gauge",
           "The domain's CPU scheduler weight; parameter names it: weight (Xen's credit "
           "schedulers) or cpu_shares (KVM's cgroups).",
           [&](Family& f) {
               for (const Row& r : rows)
                   if (r.m && !r.m->cpu_weight_parameter.empty())
                       f.sample(with(r.labels, {{"parameter", r.m->cpu_weight_parameter}}),
                                number(r.m->cpu_weight));
           });
    if (!devices) return;

    const DeviceSeries<wire::VmDiskStats> disk_series[] = {
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
        family(out, s.name, "counter", s.help, [&](Family& f) {
            for (const Row& r : rows) {
                if (!r.m) continue;
                for (const wire::VmDiskStats& d : r.m->disks)
                    if (const wire::Counter& v = d.*s.field)
                        f.sample(with(r.labels, {{"target_device", d.device}, {"source_file", d.source}}),
                                 number(*v));
            }
        });

    const DeviceSeries<wire::VmInterfaceStats> nic_series[] = {
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
        family(out, s.name, "counter", s.help, [&](Family& f) {
            for (const Row& r : rows) {
                if (!r.m) continue;
                for (const wire::VmInterfaceStats& i : r.m->interfaces)
                    if (const wire::Counter& v = i.*s.field)
                        f.sample(with(r.labels, {{"target_device", i.device}}), number(*v));
            }
        });
}

}  // namespace provisioner::server
