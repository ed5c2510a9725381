// From a parsed site and the actual state to a plan: placement with current positions, then
// make_plan.
#include <unordered_map>

#include "provisioner/reconcile.h"

namespace provisioner::reconcile {

placement::Request placement_request(const site::Site& site, const ActualState& actual) {
    placement::Request request;
    std::unordered_map<std::string, const ActualHost*> running_on;
    request.hosts.reserve(actual.hosts.size());
    for (const ActualHost& host : actual.hosts) {
        request.hosts.push_back({host.name, host.address, host.vcpus, host.memory_mib, host.load,
                                 host.reserved_vcpus, host.reserved_memory_mib});
        for (const RunningVm& vm : host.vms) running_on.emplace(vm.name, &host);
    }
    request.vms.reserve(site.vms.size());
    for (const site::Vm& vm : site.vms) {
        auto it = running_on.find(vm.name);
        request.vms.push_back({vm.name, vm.vcpus, vm.memory_mib, vm.dom0,
                               it == running_on.end() ? "" : it->second->name});
    }
    for (const site::Constraint& c : site.constraints)
        (c.kind == site::Constraint::Kind::together ? request.together : request.apart)
            .push_back(c.vms);
    return request;
}

Result<Plan> plan_site(const site::Site& site, const ActualState& actual,
                       std::string_view algorithm, const Options& options) {
    placement::Options thresholds;
    if (site.cpu_threshold > 0) thresholds.cpu_threshold = site.cpu_threshold;
    if (site.memory_threshold > 0) thresholds.memory_threshold = site.memory_threshold;
    const std::string_view name = !algorithm.empty()        ? algorithm
                                  : !site.placement.empty() ? std::string_view(site.placement)
                                                            : std::string_view("first-fit");
    auto placer = placement::make_placer(name, thresholds);
    if (!placer) return placer.status();
    const placement::Request request = placement_request(site, actual);
    auto placed = (*placer)->place(request);
    if (!placed) return placed.status();
    if (!placed->ok()) return placed->status();

    std::vector<DesiredVm> desired;
    desired.reserve(site.vms.size());
    for (std::size_t i = 0; i < site.vms.size(); ++i) {
        const site::Vm& vm = site.vms[i];
        const placement::Assignment& where = placed->assignments[i];
        desired.push_back(
            {vm.name, where.host, vm.vcpus, vm.memory_mib, vm.image.str(), where.reason});
    }
    auto plan = make_plan(desired, actual, options);
    if (!plan) return plan;
    plan->placement = std::move(placed->assignments);
    return plan;
}

}  // namespace provisioner::reconcile
