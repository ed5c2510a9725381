// Health, events, operator tokens (create, list, revoke), and the whole API mounted in one call.
#include "api.h"

#include <charconv>

#include "api_routes.h"
#include "api_support.h"
#include "imaging/http/query.h"
#include "imaging/torrent/tracker_http.h"
#include "json_views.h"
#include "state.h"

namespace provisioner::server {

using imaging::http::bhttp::verb;
using nlohmann::json;

Discovery find_or_discover(ApiContext& ctx, const Mac& mac, const std::string& why) {
    return ctx.discovery.discover(ctx.store, ctx.hosts, mac, why);
}

Response discovery_refused(const Request& req, const Status& why) {
    return error_response(req, status::too_many_requests, "too_many_requests", why.message());
}

Response import_refused(const Request& req, const ImportPath& checked) {
    switch (checked.refusal) {
    case ImportPath::Refusal::malformed:
        return error_response(req, status::bad_request, "invalid_argument", checked.message);
    case ImportPath::Refusal::missing:
        return error_response(req, status::not_found, "not_found", checked.message);
    case ImportPath::Refusal::outside:
    case ImportPath::Refusal::none: break;
    }
    return error_response(req, status::forbidden, "forbidden", checked.message);
}

namespace {

// The loop ticks every 200 ms; one this late is stuck (a child it waits on, a lock).
constexpr std::chrono::seconds kMaxTickAge{10};

Response events(ApiContext& ctx, const Request& req) {
    auto query = imaging::http::parse_query(std::string_view(req.target().data(), req.target().size()));
    if (!query) return status_response(req, Status::error(Code::invalid_argument, "malformed query"));
    EventFilter filter;
    auto number = [&](const char* key, auto& out) -> bool {
        auto v = imaging::http::query_value(*query, key);
        if (!v) return true;
        auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
        return ec == std::errc() && end == v->data() + v->size();
    };
    if (!number("after", filter.after) || !number("limit", filter.limit))
        return status_response(req, Status::error(Code::invalid_argument,
                                                  "after and limit must be numbers"));
    if (auto ref = imaging::http::query_value(*query, "host")) {
        auto host = resolve_host(ctx.store, *ref);
        if (!host) return status_response(req, host.status());
        filter.host = host->id;
    }
    auto list = ctx.store.list_events(filter);
    if (!list) return status_response(req, list.status());
    json out = json::array();
    for (const Event& e : *list) out.push_back(event_json(e));
    return json_response(req, status::ok, {{"events", out}});
}

Response create_token(ApiContext& ctx, const Request& req) {
    auto body = json_body(req);
    if (!body) return body_error(req, body.status());
    auto name = string_field(*body, "name");
    if (!name) return status_response(req, name.status());
    auto token = create_operator_token(ctx.store, *name);
    if (!token) return status_response(req, token.status());
    return json_response(req, status::created, {{"name", *name}, {"token", *token}});
}

// Never the secret nor its hash: the list is for telling tokens apart, not for using them.
json token_json(const ApiToken& t) {
    return {{"name", t.name}, {"created_at", t.created_at}};
}

Response list_tokens(ApiContext& ctx, const Request& req) {
    auto tokens = ctx.store.list_api_tokens();
    if (!tokens) return status_response(req, tokens.status());
    json list = json::array();
    for (const ApiToken& t : *tokens) list.push_back(token_json(t));
    return json_response(req, status::ok, {{"tokens", list}});
}

Response revoke_token(ApiContext& ctx, const Request& req, const std::string& name) {
    auto removed = revoke_operator_token(ctx.store, name);
    if (!removed) return status_response(req, removed.status());
    return json_response(req, status::ok, token_json(*removed));
}

// Not a constant: whether the process loop still ticks (it reaps and starts every child), no
// child keeps dying, the store answers, and dnsmasq runs. 503 with every reason when one is
// wrong, so a load balancer or a monitor takes this server out.
Response health(ApiContext& ctx, const Request& req) {
    json checks = json::object();
    std::vector<std::string> problems;
    auto check = [&](const char* name, std::string problem, json detail = json::object()) {
        detail["ok"] = problem.empty();
        if (!problem.empty()) {
            detail["problem"] = problem;
            problems.push_back(std::string(name) + ": " + problem);
        }
        checks[name] = std::move(detail);
    };
    auto age = ctx.orchestrator.tick_age();
    std::string tick_problem;
    if (age > kMaxTickAge)
        tick_problem = "the process loop's last tick ended " + std::to_string(age.count() / 1000) +
                       " s ago (children are neither reaped nor started)";
    check("process_loop", tick_problem, {{"last_tick_ms_ago", age.count()}});
    check("children", ctx.orchestrator.children_problem());
    auto stored = ctx.store.get_setting("host_token_secret_sealed");  // a round trip
    check("store", stored ? "" : stored.status().message());
    if (ctx.dhcp_problem) check("dhcp", ctx.dhcp_problem());
    json body = {{"ok", problems.empty()}, {"version", ctx.version}, {"checks", checks}};
    if (problems.empty()) return json_response(req, status::ok, body);
    std::string reason;
    for (const auto& p : problems) reason += (reason.empty() ? "" : "; ") + p;
    body["reason"] = reason;
    auto response = json_response(req, status::service_unavailable, body);
    response.set(imaging::http::bhttp::field::retry_after, "5");
    return response;
}

}  // namespace

namespace handlers {

Reply health(ApiContext& ctx, const Call& c) { return server::health(ctx, c.req); }
Reply events(ApiContext& ctx, const Call& c) { return server::events(ctx, c.req); }
Reply list_tokens(ApiContext& ctx, const Call& c) { return server::list_tokens(ctx, c.req); }
Reply create_token(ApiContext& ctx, const Call& c) { return server::create_token(ctx, c.req); }
Reply revoke_token(ApiContext& ctx, const Call& c) {
    return server::revoke_token(ctx, c.req, c.param("name"));
}

}  // namespace handlers

void mount_api(imaging::http::Router& router, ApiContext& ctx,
               std::shared_ptr<imaging::torrent::Tracker> tracker) {
    if (!ctx.jobs) ctx.jobs = std::make_shared<Jobs>(JobLimits{});
    if (!ctx.disks) {  // unit tests: an empty store holds no transfer to read back
        ctx.disks = std::make_shared<DiskTransfers>(ctx.store, ctx.config.state_dir / "moves");
        if (Status s = ctx.disks->load(); !s) throw std::runtime_error(s.message());
    }
    if (!ctx.power) {
        PowerService::Options options = ctx.power_options;
        options.poll_interval =
            std::chrono::milliseconds(std::int64_t(ctx.config.power_poll_interval * 1000));
        options.call_timeout =
            std::chrono::milliseconds(std::int64_t(ctx.config.bmc_timeout * 1000));
        ctx.power = std::make_shared<PowerService>(ctx.store, ctx.auth.secret(), options);
    }
    ctx.power->set_fail_host([&orchestrator = ctx.orchestrator](HostId host, DeploymentId d,
                                                                const std::string& reason) {
        return orchestrator.fail_host(host, d, reason);
    });
    ctx.power->start();
    if (!ctx.ui_sessions) {
        ctx.ui_sessions =
            std::make_shared<UiSessions>(ctx.store, ctx.auth, ctx.auth.secret(), base::real_clock());
    }
    if (!ctx.netservices) {
        ctx.netservices = std::make_shared<NetServiceBoard>(ctx.store);
        if (Status s = ctx.netservices->load(); !s)
            throw std::runtime_error("the site's network services: " + s.message());
    }
    if (!ctx.ui_feed) {
        ctx.ui_feed = std::make_shared<UiFeed>(ctx.store, base::real_clock());
        ctx.ui_feed->start();
    }
    mount_routes(router, ctx);
    imaging::torrent::mount_tracker(router, std::move(tracker));
    if (!ctx.server_metrics)
        ctx.server_metrics =
            std::make_shared<ServerMetrics>(router.routes(), std::chrono::steady_clock::now());
    router.set_observer([metrics = ctx.server_metrics](const imaging::http::RequestRecord& r) {
        metrics->observe(r);
    });
    // The errors the HTTP layer answers by itself (unknown path, method, oversized request)
    // in the API's JSON error shape too.
    router.set_error_format([](status code, std::string_view message) {
        std::string name = code == status::not_found            ? "not_found"
                           : code == status::method_not_allowed ? "method_not_allowed"
                           : code == status::payload_too_large ||
                                   code == status::request_header_fields_too_large
                               ? "too_large"
                           : code == status::bad_request         ? "invalid_argument"
                           : code == status::service_unavailable ? "unavailable"
                           : code == status::forbidden           ? "https_required"
                                                                 : "internal";
        json body = {{"error", {{"code", name}, {"message", message}}}};
        return std::pair(std::string("application/json"), body.dump() + "\n");
    });
}

}  // namespace provisioner::server
