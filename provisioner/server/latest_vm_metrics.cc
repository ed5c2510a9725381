#include "latest_vm_metrics.h"

#include <algorithm>

namespace provisioner::server {

const wire::VmMetrics* HostVmMetrics::find(const std::string& name) const {
    auto it = std::lower_bound(vms.begin(), vms.end(), name,
                               [](const VmMetricsSample& s, const std::string& n) { return s.name < n; });
    return it != vms.end() && it->name == name ? &it->metrics : nullptr;
}

void LatestVmMetrics::update(HostId host, Timestamp reported_at,
                             std::vector<wire::ReportedVm> vms) {
    auto entry = std::make_shared<HostVmMetrics>();
    entry->reported_at = reported_at;
    entry->vms.reserve(vms.size());
    for (wire::ReportedVm& vm : vms)
        if (vm.metrics) entry->vms.push_back({std::move(vm.name), std::move(*vm.metrics)});
    std::stable_sort(entry->vms.begin(), entry->vms.end(),
                     [](const VmMetricsSample& a, const VmMetricsSample& b) { return a.name < b.name; });
    entry->vms.erase(std::unique(entry->vms.begin(), entry->vms.end(),
                                 [](const VmMetricsSample& a, const VmMetricsSample& b) {
                                     return a.name == b.name;
                                 }),
                     entry->vms.end());
    std::lock_guard lock(mu_);
    hosts_[host] = std::move(entry);
}

void LatestVmMetrics::forget(HostId host) {
    std::lock_guard lock(mu_);
    hosts_.erase(host);
}

LatestVmMetrics::Snapshot LatestVmMetrics::snapshot() const {
    std::lock_guard lock(mu_);
    return hosts_;
}

}  // namespace provisioner::server
