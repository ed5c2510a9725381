// The latest libvirt metrics of every VM (wire/vm_metrics.h), as its Dom0 agent last reported
// them: POST /api/v1/agent/vms replaces its host's entry whole (api_site.cc), GET /metrics
// reads them (metrics_vms.cc), and a history can be fed from the same entries.
//
// Shape: one entry per host that has reported, holding the time of the report and the VMs it
// carried metrics for, sorted by name. An entry is immutable once made (a shared_ptr to
// const), so snapshot() copies only pointers and a reader keeps the entries it holds for as
// long as it likes while newer reports replace them. A VM the report did not carry metrics
// for (an older agent, or libvirt refused its statistics) is absent from the entry.
//
// In memory only: metrics are counters and gauges that the next report (every heartbeat
// interval) brings again, so after a restart they are back within one interval; what must
// outlive a restart (the VMs themselves) is in VmRegistry's stored reports.
//
// Thread-safe: reports arrive on the API's workers while scrapes read.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "provisioner/records.h"
#include "provisioner/wire/dom0.h"

namespace provisioner::server {

struct VmMetricsSample {
    std::string name;  // the domain's name, as in the host's report
    wire::VmMetrics metrics;
};

struct HostVmMetrics {
    Timestamp reported_at = 0;          // the store's clock when the report arrived
    std::vector<VmMetricsSample> vms;   // sorted by name, unique
    // The VM's metrics in this entry, nullptr when it has none.
    const wire::VmMetrics* find(const std::string& name) const;
};

class LatestVmMetrics {
  public:
    using Snapshot = std::map<HostId, std::shared_ptr<const HostVmMetrics>>;

    // Replaces host's entry with the metrics of the VMs in its latest report (those without
    // any are left out; a name seen twice keeps its first).
    void update(HostId host, Timestamp reported_at, std::vector<wire::ReportedVm> vms);
    // Drops host's entry (a host removed from the inventory).
    void forget(HostId host);
    // Every host's latest entry, by host id.
    Snapshot snapshot() const;

  private:
    mutable std::mutex mu_;
    Snapshot hosts_;
};

}  // namespace provisioner::server
