// /api/v1/deployments: start one, list them, show one with its per-host targets.
#include <charconv>
#include <map>

#include "api.h"
#include "api_routes.h"
#include "api_support.h"
#include "json_views.h"
#include "provisioner/selector.h"

namespace provisioner::server {

using imaging::http::bhttp::verb;
using nlohmann::json;

namespace {

json counts(const std::vector<DeploymentTarget>& targets) {
    std::map<std::string, int> n{{"pending", 0}, {"running", 0}, {"succeeded", 0}, {"failed", 0}};
    for (const auto& t : targets) n[to_string(t.state)]++;
    return n;
}

Response list_deployments_response(ApiContext& ctx, const Request& req) {
    auto deployments = ctx.store.list_deployments();
    if (!deployments) return status_response(req, deployments.status());
    json out = json::array();
    for (const Deployment& d : *deployments) {
        auto image = ctx.store.get_image(d.image);
        json j = deployment_json(d, image ? &*image : nullptr);
        if (auto targets = ctx.store.list_targets(d.id)) j["counts"] = counts(*targets);
        out.push_back(std::move(j));
    }
    return json_response(req, status::ok, {{"deployments", out}});
}

// A deployment with its counts and per-host targets (live bytes while it runs).
Result<json> with_targets(ApiContext& ctx, const Deployment& d) {
    auto targets = ctx.store.list_targets(d.id);
    if (!targets) return targets.status();
    ctx.orchestrator.overlay_live(d.id, *targets);
    auto image = ctx.store.get_image(d.image);
    json out = deployment_json(d, image ? &*image : nullptr);
    out["counts"] = counts(*targets);
    out["targets"] = json::array();
    for (const DeploymentTarget& t : *targets) {
        auto host = ctx.store.get_host(t.host);
        out["targets"].push_back(target_json(t, host ? &*host : nullptr));
    }
    return out;
}

Response show_deployment_response(ApiContext& ctx, const Request& req, const std::string& ref) {
    DeploymentId id = 0;
    if (std::from_chars(ref.data(), ref.data() + ref.size(), id).ptr != ref.data() + ref.size())
        return error_response(req, status::not_found, "not_found", "no such deployment");
    auto d = ctx.store.get_deployment(id);
    if (!d) return status_response(req, d.status());
    auto out = with_targets(ctx, *d);
    if (!out) return status_response(req, out.status());
    return json_response(req, status::ok, *out);
}

Response create(ApiContext& ctx, const Request& req) {
    auto body = json_body(req);
    if (!body) return body_error(req, body.status());
    std::string image_ref;
    if (auto it = body->find("image"); it != body->end() && it->is_number_integer())
        image_ref = std::to_string(it->get<std::int64_t>());
    else if (auto ref = string_field(*body, "image"))
        image_ref = *ref;
    else
        return status_response(req, ref.status());
    auto image = resolve_image(ctx.store, image_ref);
    if (!image) return status_response(req, image.status());
    auto selector = string_field(*body, "hosts");
    if (!selector) return status_response(req, selector.status());
    auto filter = parse_selector(*selector);
    if (!filter) return status_response(req, filter.status());
    std::optional<Transport> transport;
    std::string requested = optional_string(*body, "transport");
    if (!requested.empty() && requested != "auto") {
        transport = parse_transport(requested);
        if (!transport)
            return status_response(
                req, Status::error(Code::invalid_argument,
                                   "transport must be auto, delta, multicast or torrent, not " +
                                       requested));
    }
    auto hosts = ctx.store.list_hosts(*filter);
    if (!hosts) return status_response(req, hosts.status());
    if (hosts->empty())
        return status_response(req, Status::error(Code::invalid_argument,
                                                  "no host matches " + *selector));
    auto d = ctx.orchestrator.deploy(*image, *hosts, transport);
    if (!d) return status_response(req, d.status());
    // Hosts with a BMC are set to PXE-boot once and powered on, off this thread.
    if (ctx.power) ctx.power->boot_for_deployment(d->id, *hosts);
    auto out = with_targets(ctx, *d);
    if (!out) return status_response(req, out.status());
    return json_response(req, status::created, *out);
}

}  // namespace

namespace handlers {

Reply list_deployments(ApiContext& ctx, const Call& c) {
    return list_deployments_response(ctx, c.req);
}
Reply create_deployment(ApiContext& ctx, const Call& c) { return create(ctx, c.req); }
Reply show_deployment(ApiContext& ctx, const Call& c) {
    return show_deployment_response(ctx, c.req, c.param("deployment"));
}

}  // namespace handlers

}  // namespace provisioner::server
