// Hosts' BMCs and power: POST (set)/GET/DELETE /api/v1/hosts/{host}/bmc, POST /api/v1/power.
// The BMC calls run on the PowerService's workers; a handler waits for them on its HTTP worker.
#include <future>
#include <string>
#include <vector>

#include "api.h"
#include "api_routes.h"
#include "api_support.h"
#include "power_service.h"
#include "provisioner/selector.h"

namespace provisioner::server {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxPowerHosts = 1000;

json answer_json(const PowerService::Answer& a) {
    return {{"host", a.host},
            {"name", a.name},
            {"ok", a.outcome.ok()},
            {"power", power::to_string(a.outcome.state)},
            {"attempts", a.outcome.attempts},
            {"error_kind", a.outcome.ok() ? json(nullptr) : json(power::to_string(a.outcome.error))},
            {"error", a.outcome.ok() ? json(nullptr) : json(a.outcome.message)}};
}

// The hosts `ref` names: one host (id, MAC or name), else a selector (selector.h).
Result<std::vector<Host>> hosts_of(Store& store, const std::string& ref) {
    if (auto one = resolve_host(store, ref)) return std::vector<Host>{*one};
    auto filter = parse_selector(ref);
    if (!filter) return filter.status();
    auto hosts = store.list_hosts(*filter);
    if (!hosts) return hosts.status();
    if (hosts->empty()) return Status::error(Code::not_found, "no host matches " + ref);
    if (hosts->size() > kMaxPowerHosts)
        return Status::error(Code::invalid_argument,
                             ref + " names " + std::to_string(hosts->size()) +
                                 " hosts; at most " + std::to_string(kMaxPowerHosts) +
                                 " a request");
    return hosts;
}

}  // namespace

namespace handlers {

Reply set_bmc(ApiContext& ctx, const Call& c) {
    auto host = resolve_host(ctx.store, c.param("host"));
    if (!host) return status_response(c.req, host.status());
    power::BmcConfig config;
    auto driver = string_field(c.body, "driver");
    if (!driver) return status_response(c.req, driver.status());
    config.driver = *driver;
    config.address = optional_string(c.body, "address");
    config.username = optional_string(c.body, "username");
    config.password = optional_string(c.body, "password");
    config.ca_file = optional_string(c.body, "ca_file");
    auto set = ctx.power->set_bmc(*host, config);
    if (!set) return status_response(c.req, set.status());
    return json_response(c.req, status::ok, {{"host", host->id}, {"bmc", bmc_view_json(*set)}});
}

Reply show_bmc(ApiContext& ctx, const Call& c) {
    auto host = resolve_host(ctx.store, c.param("host"));
    if (!host) return status_response(c.req, host.status());
    auto bmc = ctx.power->bmc(host->id);
    if (!bmc) return status_response(c.req, bmc.status());
    return json_response(c.req, status::ok, {{"host", host->id}, {"bmc", bmc_view_json(*bmc)}});
}

Reply remove_bmc(ApiContext& ctx, const Call& c) {
    auto host = resolve_host(ctx.store, c.param("host"));
    if (!host) return status_response(c.req, host.status());
    if (Status s = ctx.power->remove_bmc(*host); !s) return status_response(c.req, s);
    return json_response(c.req, status::ok, {{"host", host->id}, {"bmc", nullptr}});
}

Reply power(ApiContext& ctx, const Call& c) {
    auto action = string_field(c.body, "action");
    if (!action) return status_response(c.req, action.status());
    power::PowerAction parsed{};
    if (*action != "status" && !power::parse_power_action(*action, parsed))
        return status_response(c.req, Status::error(Code::invalid_argument,
                                                    "action must be on, off, cycle or status"));
    auto ref = string_field(c.body, "hosts");
    if (!ref) return status_response(c.req, ref.status());
    auto hosts = hosts_of(ctx.store, *ref);
    if (!hosts) return status_response(c.req, hosts.status());
    std::vector<std::future<PowerService::Answer>> calls;
    for (const Host& h : *hosts) calls.push_back(ctx.power->request(h, *action));
    json results = json::array();
    int failed = 0;
    for (auto& f : calls) {
        PowerService::Answer a = f.get();
        if (!a.outcome.ok()) ++failed;
        results.push_back(answer_json(a));
    }
    return json_response(c.req, status::ok,
                         {{"action", *action}, {"results", results}, {"failed", failed}});
}

}  // namespace handlers

}  // namespace provisioner::server
