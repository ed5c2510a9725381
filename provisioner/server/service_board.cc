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

void ServiceBoard::set_site(const site::Site& site) {
    std::map<std::string, std::vector<site::Service>> desired;
    for (const site::Vm& vm : site.vms)
        if (!vm.services.empty()) desired.emplace(vm.name, vm.services);
    std::lock_guard lock(mu_);
    desired_ = std::move(desired);
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
