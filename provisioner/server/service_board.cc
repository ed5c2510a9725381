#include "service_board.h"

#include <algorithm>
#include <nlohmann/json.hpp>

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

using nlohmann::json;

std::string desired_body(const std::map<std::string, std::vector<site::Service>>& desired) {
    json out = json::object();
    for (const auto& [vm, services] : desired) {
        json list = json::array();
        for (const site::Service& s : services) {
            json parameters = json::array();
            for (const auto& [name, value] : s.parameters) parameters.push_back({name, value});
            list.push_back({{"package", s.package}, {"parameters", parameters}, {"line", s.line}});
        }
        out[vm] = std::move(list);
    }
    return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

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

Result<std::vector<std::string>> ServiceBoard::set_site(const site::Site& site) {
    Desired next = desired_of(site);
    std::lock_guard lock(mu_);
    auto changed = differences(desired_, next);
    if (!changed.empty())
        if (Status s = store_.set_setting(kDesiredSetting, desired_body(next)); !s)
            return s.context("keeping the site's services");
    desired_ = std::move(next);
    return changed;
}

Result<std::vector<site::Service>> ServiceBoard::report(const std::string& vm,
                                                        const std::string& address,
                                                        std::vector<ServiceReport> services,
                                                        Timestamp now) {
    std::lock_guard lock(mu_);
    GuestReport report{address, std::move(services), now};
    if (Status s = store_.put_guest_report({vm, now, guest_body(report)}); !s)
        return s.context("keeping the report of VM " + vm);
    reports_[vm] = std::move(report);
    auto it = desired_.find(vm);
    return it == desired_.end() ? std::vector<site::Service>{} : it->second;
}

std::optional<VmServices> ServiceBoard::view(const std::string& vm, Timestamp now) const {
    std::lock_guard lock(mu_);
    auto want = desired_.find(vm);
    if (want == desired_.end()) return std::nullopt;
    return view_locked(vm, want->second, now);
}

std::map<ServiceState, std::size_t> ServiceBoard::counts(Timestamp now) const {
    std::map<ServiceState, std::size_t> out;
    std::lock_guard lock(mu_);
    for (const auto& [vm, want] : desired_)
        for (const ServiceReport& r : view_locked(vm, want, now).services) ++out[r.state];
    return out;
}

VmServices ServiceBoard::view_locked(const std::string& vm, const std::vector<site::Service>& want,
                                     Timestamp now) const {
    auto got = reports_.find(vm);
    const bool live = got != reports_.end() && now - got->second.at <= stale_after_;
    VmServices out;
    if (got != reports_.end()) out.address = got->second.address;
    bool any_failed = false;
    ServiceState least = ServiceState::service_available;
    for (const site::Service& s : want) {
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

std::string ServiceBoard::guest_body(const GuestReport& report) {
    json services = json::array();
    for (const ServiceReport& r : report.services)
        services.push_back({{"package", r.package},
                            {"state", to_string(r.state)},
                            {"error", r.error},
                            {"access", r.access}});
    json body = {{"address", report.address}, {"services", services}};
    return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<ServiceBoard::GuestReport> ServiceBoard::guest_from_row(const GuestReportRow& row) {
    try {
        json body = json::parse(row.body);
        GuestReport report{body.at("address").get<std::string>(), {}, row.reported_at};
        for (const json& r : body.at("services")) {
            auto state = parse_guest_state(r.at("state").get<std::string>());
            if (!state) throw std::invalid_argument(state.status().message());
            report.services.push_back({r.at("package").get<std::string>(), *state,
                                       r.at("error").get<std::string>(),
                                       r.at("access").get<std::string>()});
        }
        return report;
    } catch (const std::exception& e) {
        return Status::error(Code::storage,
                             "the stored report of VM " + row.vm + " does not read: " + e.what());
    }
}

Result<ServiceBoard::Desired> ServiceBoard::desired_from_body(const std::string& text) {
    try {
        Desired desired;
        const json body = json::parse(text);
        if (!body.is_object()) throw std::invalid_argument("not an object");
        for (const auto& [vm, list] : body.items()) {
            std::vector<site::Service> services;
            for (const json& s : list) {
                site::Service service{s.at("package").get<std::string>(), {},
                                      s.at("line").get<std::size_t>()};
                for (const json& p : s.at("parameters"))
                    service.parameters.emplace_back(p.at(0).get<std::string>(),
                                                    p.at(1).get<std::string>());
                services.push_back(std::move(service));
            }
            desired.emplace(vm, std::move(services));
        }
        return desired;
    } catch (const std::exception& e) {
        return Status::error(Code::storage,
                             std::string("the stored services of the site do not read: ") + e.what());
    }
}

Result<bool> ServiceBoard::load() {
    auto rows = store_.list_guest_reports();
    if (!rows) return rows.status();
    std::map<std::string, GuestReport> reports;
    for (const GuestReportRow& row : *rows) {
        auto report = guest_from_row(row);
        if (!report) return report.status();
        reports.emplace(row.vm, std::move(*report));
    }
    auto body = store_.get_setting(kDesiredSetting);
    if (!body && body.status().code() != Code::not_found) return body.status();
    Desired desired;
    if (body) {
        auto read = desired_from_body(*body);
        if (!read) return read.status();
        desired = std::move(*read);
    }
    std::lock_guard lock(mu_);
    reports_ = std::move(reports);
    desired_ = std::move(desired);
    return bool(body);
}

}  // namespace provisioner::server
