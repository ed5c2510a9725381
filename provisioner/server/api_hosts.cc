// /api/v1/hosts: list, add, import, show, remove, accept.
#include <algorithm>
#include <charconv>
#include <map>
#include <string>
#include <vector>

#include "api.h"
#include "api_routes.h"
#include "api_support.h"
#include "imaging/http/query.h"
#include "json_views.h"
#include "provisioner/host_import.h"
#include "provisioner/selector.h"

namespace provisioner::server {

using imaging::http::bhttp::verb;
using nlohmann::json;

namespace {

constexpr std::size_t kHostEvents = 50;

// An optional non-negative count of the query; nothing when it is malformed.
std::optional<std::size_t> query_size(const imaging::http::QueryParams& q, std::string_view key) {
    auto v = imaging::http::query_value(q, key);
    std::size_t n = 0;
    if (!v) return n;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || end != v->data() + v->size()) return std::nullopt;
    return n;
}

Response list_hosts(ApiContext& ctx, const Request& req) {
    const std::string_view target(req.target().data(), req.target().size());
    // The same target at the same data version has the same answer (nothing in it depends on
    // the time or on who asks): served from the cache, else built, then kept if nothing was
    // committed while it was built.
    const auto version = ctx.store.data_version();
    if (version) {
        if (auto cached = ctx.host_lists->find(target, *version))
            return imaging::http::make_response(req, status::ok, *cached, "application/json");
    }
    auto query = imaging::http::parse_query(target);
    if (!query) return status_response(req, Status::error(Code::invalid_argument, "malformed query"));
    auto filter = parse_selector(imaging::http::query_value(*query, "selector").value_or("all"));
    if (!filter) return status_response(req, filter.status());
    auto total = ctx.store.count_hosts(*filter);
    if (!total) return status_response(req, total.status());
    auto limit = query_size(*query, "limit");
    auto offset = query_size(*query, "offset");
    if (!limit || !offset)
        return status_response(req, Status::error(Code::invalid_argument,
                                                  "limit and offset must be non-negative numbers"));
    filter->limit = *limit;
    filter->offset = *offset;
    auto hosts = ctx.store.list_hosts(*filter);
    if (!hosts) return status_response(req, hosts.status());
    // The bytes json_response would send for {"hosts": [...], "total": N}, written without a
    // JSON tree (a full list is 10,000 hosts): keys sorted, no spaces, one newline.
    std::string body;
    body.reserve(64 + hosts->size() * 256);
    // Each host's BMC (driver, address, power state), as "power"; none for a host without.
    std::map<HostId, BmcRecord> bmcs;
    if (ctx.power) {
        auto all = ctx.power->all_bmcs();
        if (!all) return status_response(req, all.status());
        bmcs = std::move(*all);
    }
    body += "{\"hosts\":[";
    for (std::size_t i = 0; i < hosts->size(); ++i) {
        if (i) body += ',';
        auto bmc = bmcs.find((*hosts)[i].id);
        append_host_json(body, (*hosts)[i],
                         bmc == bmcs.end()
                             ? std::string()
                             : bmc_view_json(bmc->second)
                                   .dump(-1, ' ', false, json::error_handler_t::replace));
    }
    body += "],\"total\":";
    body += std::to_string(*total);
    body += "}\n";
    if (version && ctx.store.data_version() == version) ctx.host_lists->put(target, *version, body);
    return imaging::http::make_response(req, status::ok, std::move(body), "application/json");
}

Response add_host(ApiContext& ctx, const Request& req) {
    auto body = json_body(req);
    if (!body) return body_error(req, body.status());
    auto mac = mac_field(*body, "mac");
    if (!mac) return status_response(req, mac.status());
    auto name = string_field(*body, "name");
    if (!name) return status_response(req, name.status());
    HostSpec spec{*mac, *name, optional_string(*body, "ip"), optional_string(*body, "rack")};
    auto host = ctx.store.add_host(spec, HostState::enrolled, "enrolled by operator");
    if (!host) return status_response(req, host.status());
    ctx.hosts.host_changed(*host);
    return json_response(req, status::created, host_json(*host));
}

Response import_hosts(ApiContext& ctx, const Request& req) {
    auto result = import_hosts_csv(ctx.store, req.body());
    if (!result) return status_response(req, result.status());
    if (!result->ok()) {
        json lines = json::array();
        for (const LineError& e : result->errors)
            lines.push_back({{"line", e.line}, {"message", e.message}});
        return error_response(req, status::bad_request, "invalid_argument",
                              std::to_string(result->errors.size()) +
                                  " bad line(s); nothing imported",
                              {{"lines", lines}});
    }
    auto hosts = ctx.store.list_hosts({});
    if (hosts)
        for (const Host& h : *hosts) ctx.hosts.host_changed(h);
    return json_response(req, status::ok, {{"imported", result->imported}});
}

Response show_host(ApiContext& ctx, const Request& req, const Host& host) {
    json out = host_json(host);
    if (ctx.power) {
        auto bmc = ctx.power->bmc(host.id);
        if (bmc) out["power"] = bmc_view_json(*bmc);
        else if (bmc.status().code() != Code::not_found)
            return status_response(req, bmc.status());
    }
    EventFilter filter;
    filter.host = host.id;
    filter.limit = kHostEvents;
    auto events = ctx.store.list_events(filter);
    if (!events) return status_response(req, events.status());
    out["events"] = json::array();
    for (const Event& e : *events) out["events"].push_back(event_json(e));
    return json_response(req, status::ok, out);
}

Response remove_host(ApiContext& ctx, const Request& req, const Host& host) {
    if (is_in_flight(host.state))
        return status_response(req, Status::error(Code::conflict,
                                                  "host " + host.name + " is " +
                                                      to_string(host.state) +
                                                      "; wait for its deployment to end"));
    // Its Dom0 token generation goes with it: a host given its id later starts afresh.
    if (Status s = ctx.store.transaction([&]() -> Status {
            if (Status r = ctx.store.remove_host(host.id); !r) return r;
            return Authenticator::forget_dom0_generation(ctx.store, host.id);
        });
        !s)
        return status_response(req, s);
    ctx.hosts.host_removed(host);
    if (ctx.history) ctx.history->forget({EntityKind::host, std::to_string(host.id)});
    return json_response(req, status::ok, host_json(host));
}

Response accept_host(ApiContext& ctx, const Request& req, Host host) {
    json body = json::object();
    if (!req.body().empty()) {
        auto parsed = json_body(req);
        if (!parsed) return body_error(req, parsed.status());
        body = *parsed;
    }
    if (host.state != HostState::discovered)
        return status_response(req, Status::error(Code::illegal_transition,
                                                  "host " + host.name + " is " +
                                                      to_string(host.state) +
                                                      ", not discovered"));
    Status s = ctx.store.transaction([&]() -> Status {
        if (std::string name = optional_string(body, "name"); !name.empty()) {
            if (Status v = validate_host_fields(name, host.ip, host.rack); !v) return v;
            host.name = name;
            if (Status u = ctx.store.update_host(host); !u) return u;
        }
        return ctx.store.transition(host.id, HostState::enrolled, "accepted by operator").status();
    });
    if (!s) return status_response(req, s);
    auto updated = ctx.store.get_host(host.id);
    if (!updated) return status_response(req, updated.status());
    ctx.hosts.host_changed(*updated);
    return json_response(req, status::ok, host_json(*updated));
}

// What a host's Dom0 agent needs, for a system installed without our netboot agent (or whose
// seed partition is gone): the server, the Dom0 token of its current generation, its MAC.
Response dom0_settings(ApiContext& ctx, const Request& req, const Host& host) {
    auto token = ctx.auth.dom0_token(host);
    if (!token) return status_response(req, token.status());
    return json_response(req, status::ok,
                         {{"host", host.name},
                          {"server", ctx.config.public_url},
                          {"token", *token},
                          {"mac", host.mac.str()},
                          {"cmdline", "provisioner.server=" + ctx.config.public_url +
                                          " provisioner.token=" + *token +
                                          " provisioner.mac=" + host.mac.str()}});
}

}  // namespace

namespace handlers {
namespace {

// The host {host} names (id, MAC or name), then fn with it; 404 naming it when none.
template <class Fn>
Reply with_host(ApiContext& ctx, const Call& c, Fn fn) {
    auto host = resolve_host(ctx.store, c.param("host"));
    if (!host) return status_response(c.req, host.status());
    return fn(*host);
}

}  // namespace

Reply list_hosts(ApiContext& ctx, const Call& c) { return server::list_hosts(ctx, c.req); }
Reply add_host(ApiContext& ctx, const Call& c) { return server::add_host(ctx, c.req); }
Reply import_hosts(ApiContext& ctx, const Call& c) { return server::import_hosts(ctx, c.req); }
Reply show_host(ApiContext& ctx, const Call& c) {
    return with_host(ctx, c, [&](const Host& h) { return server::show_host(ctx, c.req, h); });
}
Reply remove_host(ApiContext& ctx, const Call& c) {
    return with_host(ctx, c, [&](const Host& h) { return server::remove_host(ctx, c.req, h); });
}
Reply accept_host(ApiContext& ctx, const Call& c) {
    return with_host(ctx, c, [&](const Host& h) { return server::accept_host(ctx, c.req, h); });
}
Reply host_dom0(ApiContext& ctx, const Call& c) {
    return with_host(ctx, c, [&](const Host& h) { return dom0_settings(ctx, c.req, h); });
}

}  // namespace handlers

}  // namespace provisioner::server
