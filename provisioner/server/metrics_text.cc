#include "metrics_text.h"

#include "exposition.h"
#include "metrics_vms.h"
#include "provisioner/lifecycle.h"

namespace provisioner::server {
namespace {

using exposition::append_header;
using exposition::append_label;
using exposition::append_sample;
using exposition::FamilyPart;
using exposition::number;

// One host with metrics: its labels, escaped once.
struct HostRow {
    std::string labels;  // host="..",rack=".."
    const wire::HostMetrics* m;
};

// `labels,key="value"`
std::string with(const std::string& labels, const char* key, std::string_view value) {
    std::string out = labels;
    out += ',';
    append_label(out, key, value);
    return out;
}

// The node_* families over rows (which must outlive them); written, HELP and TYPE at least,
// whenever any host has metrics.
void add_host_families(std::vector<FamilyPart>& families, const std::vector<HostRow>& rows,
                       bool any) {
    auto family = [&](const char* name, const char* type, const char* help,
                      std::function<void(std::string&, const HostRow&, const char*)> samples) {
        if (!any) return;
        families.push_back({name, type, help, true, rows.size(),
                            [all = &rows, name, samples = std::move(samples)](std::string& out,
                                                                              std::size_t i) {
                                samples(out, (*all)[i], name);
                            }});
    };
    family("node_cpu_seconds_total", "counter",
           "Seconds the host's CPUs spent in each mode, all CPUs together.",
           [](std::string& out, const HostRow& r, const char* name) {
               for (const auto& [mode, seconds] : r.m->cpu_seconds)
                   append_sample(out, name, with(r.labels, "mode", mode), number(seconds));
           });
    struct Gauge {
        const char* name;
        const char* help;
        std::string (*value)(const wire::HostMetrics&);
    };
    static const Gauge gauges[] = {
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
        family(g.name, "gauge", g.help, [&g](std::string& out, const HostRow& r, const char* name) {
            append_sample(out, name, r.labels, g.value(*r.m));
        });
    struct Fs {
        const char* name;
        const char* help;
        std::uint64_t wire::HostMetrics::*field;
    };
    static const Fs filesystems[] = {
        {"node_filesystem_size_bytes", "Size of the filesystem.",
         &wire::HostMetrics::filesystem_size_bytes},
        {"node_filesystem_free_bytes", "Free bytes of the filesystem.",
         &wire::HostMetrics::filesystem_free_bytes},
        {"node_filesystem_avail_bytes", "Bytes of the filesystem free to non-root users.",
         &wire::HostMetrics::filesystem_avail_bytes},
    };
    for (const Fs& fs : filesystems)
        family(fs.name, "gauge", fs.help,
               [&fs](std::string& out, const HostRow& r, const char* name) {
                   append_sample(out, name, with(r.labels, "mountpoint", r.m->mountpoint),
                                 number(r.m->*fs.field));
               });
    struct Net {
        const char* name;
        const char* help;
        std::uint64_t wire::NetworkDevice::*field;
    };
    static const Net nets[] = {
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
        family(n.name, "counter", n.help,
               [&n](std::string& out, const HostRow& r, const char* name) {
                   for (const wire::NetworkDevice& d : r.m->network)
                       append_sample(out, name, with(r.labels, "device", d.device),
                                     number(d.*n.field));
               });
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

struct MetricsTextWriter::Parts {
    std::shared_ptr<const MetricsSnapshot> snapshot;
    std::string head;  // build info and hosts by state, written first
    std::vector<HostRow> hosts;
    std::vector<VmRow> vms;
    std::vector<FamilyPart> families;
    // Where the writing is: the head not yet out, then families[family]'s item.
    bool head_written = false;
    std::size_t family = 0, item = 0;
    bool header_written = false;  // families[family]'s HELP and TYPE
};

MetricsTextWriter::MetricsTextWriter(std::shared_ptr<const MetricsSnapshot> snapshot)
    : parts_(std::make_unique<Parts>()) {
    Parts& p = *parts_;
    p.snapshot = std::move(snapshot);
    const MetricsSnapshot& s = *p.snapshot;
    exposition::Family(p.head, "provisioner_build_info", "gauge",
                       "provisionerd's version; always 1.")
        .sample({{"version", s.version}}, "1");
    std::map<HostState, std::uint64_t> by_state;
    for (HostState state : all_host_states()) by_state[state] = 0;
    std::map<HostId, std::string> labels;
    for (const Host& h : s.hosts) {
        ++by_state[h.state];
        std::string& l = labels[h.id];
        l.clear();
        append_label(l, "host", h.name);
        l += ',';
        append_label(l, "rack", h.rack);
    }
    exposition::Family by(p.head, "provisioner_hosts", "gauge",
                          "Hosts in the inventory by lifecycle state.");
    for (HostState state : all_host_states())
        by.sample({{"state", to_string(state)}}, number(by_state[state]));

    for (const auto& [id, m] : s.metrics) {
        auto l = labels.find(id);
        if (l != labels.end()) p.hosts.push_back({l->second, &m});
    }
    add_host_families(p.families, p.hosts, !s.metrics.empty());
    p.vms = vm_rows(s.reports, s.vm_metrics, labels);
    if (!p.vms.empty()) add_vm_families(p.families, p.vms, s.vm_devices);
}

MetricsTextWriter::~MetricsTextWriter() = default;

bool MetricsTextWriter::write(std::string& out, std::size_t until) {
    Parts& p = *parts_;
    if (!p.head_written) {
        out += p.head;
        p.head_written = true;
        p.head = std::string();
    }
    while (p.family < p.families.size()) {
        const FamilyPart& f = p.families[p.family];
        if (!p.header_written && f.header_always) {
            append_header(out, f.name, f.type, f.help);
            p.header_written = true;
        }
        for (; p.item < f.items; ++p.item) {
            if (out.size() >= until) return true;
            if (p.header_written) {
                f.samples(out, p.item);
                continue;
            }
            // The header goes before the first sample only: write the item aside first.
            std::string lines;
            f.samples(lines, p.item);
            if (lines.empty()) continue;
            append_header(out, f.name, f.type, f.help);
            p.header_written = true;
            out += lines;
        }
        ++p.family;
        p.item = 0;
        p.header_written = false;
    }
    return false;
}

std::string metrics_text(const MetricsSnapshot& s) {
    // The writer holds its snapshot; a caller's snapshot is borrowed for this call only.
    MetricsTextWriter writer(std::shared_ptr<const MetricsSnapshot>(&s, [](const MetricsSnapshot*) {}));
    std::string out;
    while (writer.write(out, std::string::npos)) {
    }
    return out;
}

}  // namespace provisioner::server
