#include "service_board.h"

#include <algorithm>

namespace provisioner::server {

const char* to_string(ServiceState state) {
    switch (state) {
        case ServiceState::vm_unavailable: return "vm_unavailable";
        case ServiceState::vm_ready: return "vm_ready";
        case ServiceState::container_ready: return "container_ready";
        case ServiceState::service_available: return "service_available";
        case ServiceState::failed: return "failed";
    }
    return "failed";
}

Result<ServiceState> parse_guest_state(const std::string& text) {
    for (ServiceState s : {ServiceState::vm_ready, ServiceState::container_ready,
                           ServiceState::service_available, ServiceState::failed})
        if (text == to_string(s)) return s;
    return Status::error(Code::invalid_argument,
                         "unknown service state \"" + text +
                             "\" (expected vm_ready, container_ready, service_available or failed)");
}

namespace {

bool same_services(const std::vector<site::Service>& a, const std::vector<site::Service>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const site::Service& x, const site::Service& y) {
                          return x.package == y.package && x.parameters == y.parameters;
                      });
}

}  // namespace

ServiceBoard::Desired ServiceBoard::desired_of(const site::Site& site) {
    Desired desired;
    for (const site::Vm& vm : site.vms)
        if (!vm.services.empty()) desired.emplace(vm.name, vm.services);
    return desired;
}

std::vector<std::string> ServiceBoard::differences(const Desired& from, const Desired& to) {
    std::vector<std::string> changed;
    for (const auto& [vm, services] : from) {
        auto now = to.find(vm);
        if (now == to.end() || !same_services(services, now->second)) changed.push_back(vm);
    }
    for (const auto& [vm, services] : to)
        if (!from.contains(vm)) changed.push_back(vm);
    std::sort(changed.begin(), changed.end());
    return changed;
}

std::vector<std::string> ServiceBoard::changes(const site::Site& site) const {
    Desired next = desired_of(site);
    std::lock_guard lock(mu_);
    return differences(desired_, next);
}

std::vector<std::string> ServiceBoard::set_site(const site::Site& site) {
    Desired next = desired_of(site);
    std::lock_guard lock(mu_);
    auto changed = differences(desired_, next);
    desired_ = std::move(next);
    return changed;
}

std::vector<site::Service> ServiceBoard::report(const std::string& vm, const std::string& address,
                                                std::vector<ServiceReport> services,
                                                Timestamp now) {
    std::lock_guard lock(mu_);
    reports_[vm] = GuestReport{address, std::move(services), now};
    auto it = desired_.find(vm);
    return it == desired_.end() ? std::vector<site::Service>{} : it->second;
}

std::optional<VmServices> ServiceBoard::view(const std::string& vm, Timestamp now) const {
    std::lock_guard lock(mu_);
    auto want = desired_.find(vm);
    if (want == desired_.end()) return std::nullopt;
    auto got = reports_.find(vm);
    const bool live = got != reports_.end() && now - got->second.at <= stale_after_;
    VmServices out;
    if (got != reports_.end()) out.address = got->second.address;
    bool any_failed = false;
    ServiceState least = ServiceState::service_available;
    for (const site::Service& s : want->second) {
        ServiceReport r{s.package, ServiceState::vm_unavailable, {}, {}};
        if (live) {
            r.state = ServiceState::vm_ready;  // the guest runs but has not reached it yet
            for (const ServiceReport& g : got->second.services)
                if (g.package == s.package) r = g;
        }
        if (r.state == ServiceState::failed)
            any_failed = true;
        else
            least = std::min(least, r.state);
        out.services.push_back(std::move(r));
    }
    out.summary = any_failed ? ServiceState::failed : least;
    return out;
}

}  // namespace provisioner::server
