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

#include "exposition.h"
#include "latest_vm_metrics.h"
#include "vm_registry.h"

namespace provisioner::server {

// One VM as the families see it. labels: host, rack, domain and uuid (when known), escaped
// once for all its samples.
struct VmRow {
    std::string labels;
    const ReportedVm* vm;                // from the report
    const wire::VmMetrics* m = nullptr;  // its libvirt metrics, if reported
};

// The VMs of reports in their order. hosts: each inventory host's `host="..",rack=".."` (a
// report of a host no longer there is left out). The rows point into reports and latest.
std::vector<VmRow> vm_rows(const std::vector<HostReport>& reports,
                           const LatestVmMetrics::Snapshot& latest,
                           const std::map<HostId, std::string>& hosts);

// Appends the VM families over rows (which must outlive them) to families; each is written
// only once it has a sample. devices: the per-disk and per-interface families too (opt-in:
// the bulk of a large site's scrape).
void add_vm_families(std::vector<exposition::FamilyPart>& families, const std::vector<VmRow>& rows,
                     bool devices);

}  // namespace provisioner::server
