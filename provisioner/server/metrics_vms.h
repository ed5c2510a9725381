// The VM part of GET /metrics: every VM of the Dom0 agents' last reports under
// prometheus-libvirt-exporter's names, with the labels host, rack, domain and uuid (and
// target_device, source_file for disks; target_device for interfaces). A VM whose report
// carried libvirt's metrics (latest_vm_metrics.h) has all of them; one without (an older agent,
// a server just restarted) has what the report itself says: maximum memory, vCPUs, state.
// API.md, "Metrics", lists the series.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "latest_vm_metrics.h"
#include "exposition.h"
#include "vm_registry.h"

namespace provisioner::server {

// The labels every series of one host carries: host and rack, then more.
struct HostLabels {
    std::string name, rack;
    exposition::Labels with(exposition::Labels more = {}) const {
        exposition::Labels l = {{"host", name}, {"rack", rack}};
        l.insert(l.end(), more.begin(), more.end());
        return l;
    }
};

// Appends the VM families to out. hosts: the labels of the inventory's hosts (a report of a
// host no longer there is left out). A family with no sample is not written. devices: the
// per-disk and per-interface families too (opt-in: the bulk of a large site's scrape).
void vm_metrics_text(std::string& out, const std::vector<HostReport>& reports,
                     const LatestVmMetrics::Snapshot& latest,
                     const std::map<HostId, HostLabels>& hosts, bool devices);

}  // namespace provisioner::server
