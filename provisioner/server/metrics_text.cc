#include "metrics_text.h"

#include <functional>

#include "exposition.h"
#include "metrics_vms.h"
#include "provisioner/lifecycle.h"

namespace provisioner::server {
namespace {

using exposition::Family;
using exposition::Labels;
using exposition::number;

// A family over every host with metrics; sample(family, labels, metrics) adds that host's.
void host_family(
    std::string& out, const MetricsSnapshot& s, const std::map<HostId, HostLabels>& labels,
    const char* name, const char* type, const char* help,
    const std::function<void(Family&, const HostLabels&, const wire::HostMetrics&)>& samples) {
    if (s.metrics.empty()) return;
    Family f(out, name, type, help);
    for (const auto& [id, m] : s.metrics) {
        auto l = labels.find(id);
        if (l != labels.end()) samples(f, l->second, m);
    }
}

}  // namespace

int libvirt_domain_state(const std::string& state) {
    static const std::map<std::string, int, std::less<>> states = {
        {"no state", 0}, {"running", 1},     {"blocked", 2},     {"idle", 2},
        {"paused", 3},   {"in shutdown", 4}, {"shutdown", 4},    {"shut off", 5},
        {"shutoff", 5},  {"crashed", 6},     {"pmsuspended", 7}, {"suspended", 7}};
    auto found = states.find(state);
    return found == states.end() ? 0 : found->second;
}

std::string metrics_text(const MetricsSnapshot& s) {
    std::string out;
    Family(out, "provisioner_build_info", "gauge", "provisionerd's version; always 1.")
        .sample({{"version", s.version}}, "1");

    std::map<HostState, std::uint64_t> by_state;
    for (HostState state : all_host_states()) by_state[state] = 0;
    std::map<HostId, HostLabels> labels;
    for (const Host& h : s.hosts) {
        ++by_state[h.state];
        labels[h.id] = {h.name, h.rack};
    }
    Family hosts(out, "provisioner_hosts", "gauge", "Hosts in the inventory by lifecycle state.");
    for (HostState state : all_host_states())
        hosts.sample({{"state", to_string(state)}}, number(by_state[state]));

    host_family(out, s, labels, "node_cpu_seconds_total", "counter",
                "Seconds the host's CPUs spent in each mode, all CPUs together.",
                [](Family& f, const HostLabels& l, const wire::HostMetrics& m) {
                    for (const auto& [mode, seconds] : m.cpu_seconds)
                        f.sample(l.with({{"mode", mode}}), number(seconds));
                });
    struct Gauge {
        const char* name;
        const char* help;
        std::function<std::string(const wire::HostMetrics&)> value;
    };
    const Gauge gauges[] = {
        {"node_memory_MemTotal_bytes", "Memory of the host (/proc/meminfo MemTotal).",
         [](const wire::HostMetrics& m) { return number(m.memory_total_bytes); }},
        {"node_memory_MemAvailable_bytes", "Memory available for new work (MemAvailable).",
         [](const wire::HostMetrics& m) { return number(m.memory_available_bytes); }},
        {"node_load1", "1-minute load average.",
         [](const wire::HostMetrics& m) { return number(m.load1); }},
        {"node_load5", "5-minute load average.",
         [](const wire::HostMetrics& m) { return number(m.load5); }},
        {"node_load15", "15-minute load average.",
         [](const wire::HostMetrics& m) { return number(m.load15); }},
        {"node_boot_time_seconds", "When the host booted, Unix time.",
         [](const wire::HostMetrics& m) { return number(m.boot_time_seconds); }},
    };
    for (const Gauge& g : gauges)
        host_family(out, s, labels, g.name, "gauge", g.help,
                    [&g](Family& f, const HostLabels& l, const wire::HostMetrics& m) {
                        f.sample(l.with(), g.value(m));
                    });
    struct Fs {
        const char* name;
        const char* help;
        std::uint64_t wire::HostMetrics::*field;
    };
    const Fs filesystems[] = {
        {"node_filesystem_size_bytes", "Size of the filesystem.",
         &wire::HostMetrics::filesystem_size_bytes},
        {"node_filesystem_free_bytes", "Free bytes of the filesystem.",
         &wire::HostMetrics::filesystem_free_bytes},
        {"node_filesystem_avail_bytes", "Bytes of the filesystem free to non-root users.",
         &wire::HostMetrics::filesystem_avail_bytes},
    };
    for (const Fs& fs : filesystems)
        host_family(out, s, labels, fs.name, "gauge", fs.help,
                    [&fs](Family& f, const HostLabels& l, const wire::HostMetrics& m) {
                        f.sample(l.with({{"mountpoint", m.mountpoint}}), number(m.*fs.field));
                    });
    struct Net {
        const char* name;
        const char* help;
        std::uint64_t wire::NetworkDevice::*field;
    };
    const Net nets[] = {
        {"node_network_receive_bytes_total", "Bytes received by the interface.",
         &wire::NetworkDevice::receive_bytes},
        {"node_network_transmit_bytes_total", "Bytes sent by the interface.",
         &wire::NetworkDevice::transmit_bytes},
        {"node_network_receive_errs_total", "Receive errors of the interface.",
         &wire::NetworkDevice::receive_errors},
        {"node_network_transmit_errs_total", "Transmit errors of the interface.",
         &wire::NetworkDevice::transmit_errors},
    };
    for (const Net& n : nets)
        host_family(out, s, labels, n.name, "counter", n.help,
                    [&n](Family& f, const HostLabels& l, const wire::HostMetrics& m) {
                        for (const wire::NetworkDevice& d : m.network)
                            f.sample(l.with({{"device", d.device}}), number(d.*n.field));
                    });

    vm_metrics_text(out, s.reports, s.vm_metrics, labels, s.vm_devices);
    return out;
}

}  // namespace provisioner::server
