// GET /metrics in Prometheus' text exposition format (version 0.0.4): the server's build,
// the inventory's hosts by lifecycle state (every state present, at 0 when empty), each
// host's latest metrics under node_exporter's names with host and rack labels, and each VM
// its Dom0 agent reports under prometheus-libvirt-exporter's names (domain, host, rack).
// A pure function of a snapshot, so tests hold the text itself; API.md, "Metrics".
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "provisioner/records.h"
#include "latest_vm_metrics.h"
#include "provisioner/wire/host_metrics.h"
#include "vm_registry.h"

namespace provisioner::server {

struct MetricsSnapshot {
    std::string version;                          // provisionerd's
    std::vector<Host> hosts;                      // the whole inventory
    std::map<HostId, wire::HostMetrics> metrics;  // the latest per host (host_monitor.h)
    std::vector<HostReport> reports;              // the Dom0 agents' last reports (their VMs)
    LatestVmMetrics::Snapshot vm_metrics;         // their VMs' libvirt metrics (metrics_vms.h)
    // Per-disk and per-interface VM series too (GET /metrics?vm_devices=1). Off by default: at
    // 10,000 hosts of 20 VMs they are 2.4 million of the scrape's 4 million samples.
    bool vm_devices = false;
};

std::string metrics_text(const MetricsSnapshot& snapshot);

// The same text written in pieces, so that a large site's scrape (hundreds of MiB at 10,000
// hosts of 20 VMs) is sent while it is made instead of being built whole first
// (api_metrics.cc). Holds the snapshot until it is destroyed. Not thread-safe: one caller
// at a time.
class MetricsTextWriter {
  public:
    explicit MetricsTextWriter(std::shared_ptr<const MetricsSnapshot> snapshot);
    ~MetricsTextWriter();
    MetricsTextWriter(const MetricsTextWriter&) = delete;
    MetricsTextWriter& operator=(const MetricsTextWriter&) = delete;

    // Appends the next samples to out until out holds at least until bytes (a family's item
    // is never split) or the text ends. Returns false once the whole text has been written.
    bool write(std::string& out, std::size_t until);

  private:
    struct Parts;
    std::unique_ptr<Parts> parts_;
};

// libvirt's virDomainState for a state as the agent reports it ("running", "shut off", ...);
// 0 (no state) for one it does not know.
int libvirt_domain_state(const std::string& state);

}  // namespace provisioner::server
