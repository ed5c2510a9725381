#include "api_routes.h"

#include "api_support.h"
#include "api_ui.h"

namespace provisioner::server {

namespace {

using imaging::http::Dispatch;
using imaging::http::bhttp::verb;
using nlohmann::json;
namespace h = handlers;

// Everything but the tracker's /announce (in memory; imaging::torrent::mount_tracker, on the
// I/O threads) and the router's own 404 and 405. Every route here touches the store (tokens
// are looked up there), a disk or the orchestrator, so every one runs on the worker pool.
constexpr Dispatch kPool = Dispatch::worker_pool;
// clang-format off: one route a line, as a table reads
constexpr Route kRoutes[] = {
    {verb::get, "/api/v1/health", Scope::none, Body::raw, kPool, h::health},
    {verb::get, "/api/v1/events", Scope::operator_token, Body::raw, kPool, h::events},
    {verb::get, "/api/v1/tokens", Scope::operator_token, Body::raw, kPool, h::list_tokens},
    {verb::post, "/api/v1/tokens", Scope::operator_token, Body::raw, kPool, h::create_token},
    {verb::delete_, "/api/v1/tokens/{name}", Scope::operator_token, Body::raw, kPool,
     h::revoke_token},
    {verb::get, "/api/v1/jobs/{job}", Scope::operator_token, Body::raw, kPool, h::show_job},
    {verb::get, "/metrics", Scope::operator_token, Body::raw, kPool, h::metrics},
    // The web UI: its files, a session for an operator token, the live stream.
    {verb::get, "/", Scope::none, Body::raw, kPool, h::ui_index},
    {verb::get, "/ui/{file...}", Scope::none, Body::raw, kPool, h::ui_asset},
    {verb::post, "/api/v1/session", Scope::none, Body::json, kPool, h::sign_in},
    {verb::get, "/api/v1/session", Scope::operator_token, Body::raw, kPool, h::show_session},
    {verb::delete_, "/api/v1/session", Scope::operator_token, Body::raw, kPool, h::sign_out},
    {verb::get, "/api/v1/stream", Scope::operator_token, Body::raw, kPool, h::stream},
    {verb::get, "/api/v1/site", Scope::operator_token, Body::raw, kPool, h::current_site},

    {verb::get, "/api/v1/hosts", Scope::operator_token, Body::raw, kPool, h::list_hosts},
    {verb::post, "/api/v1/hosts", Scope::operator_token, Body::raw, kPool, h::add_host},
    {verb::post, "/api/v1/hosts/import", Scope::operator_token, Body::raw, kPool, h::import_hosts},
    {verb::get, "/api/v1/hosts/{host}", Scope::operator_token, Body::raw, kPool, h::show_host},
    {verb::delete_, "/api/v1/hosts/{host}", Scope::operator_token, Body::raw, kPool,
     h::remove_host},
    {verb::post, "/api/v1/hosts/{host}/accept", Scope::operator_token, Body::raw, kPool,
     h::accept_host},
    {verb::get, "/api/v1/hosts/{host}/dom0", Scope::operator_token, Body::raw, kPool, h::host_dom0},
    {verb::get, "/api/v1/hosts/{host}/metrics", Scope::operator_token, Body::raw, kPool,
     h::host_metrics},
    {verb::post, "/api/v1/hosts/{host}/bmc", Scope::operator_token, Body::json, kPool, h::set_bmc},
    {verb::get, "/api/v1/hosts/{host}/bmc", Scope::operator_token, Body::raw, kPool, h::show_bmc},
    {verb::delete_, "/api/v1/hosts/{host}/bmc", Scope::operator_token, Body::raw, kPool,
     h::remove_bmc},
    {verb::post, "/api/v1/power", Scope::operator_token, Body::json, kPool, h::power},

    {verb::get, "/api/v1/images", Scope::operator_token, Body::raw, kPool, h::list_images},
    {verb::post, "/api/v1/images", Scope::operator_token, Body::raw, kPool, h::import_image},
    {verb::get, "/api/v1/images/{image}", Scope::operator_token, Body::raw, kPool, h::show_image},
    {verb::delete_, "/api/v1/images/{image}", Scope::operator_token, Body::raw, kPool,
     h::remove_image},

    {verb::get, "/api/v1/templates", Scope::operator_token, Body::raw, kPool, h::list_templates},
    {verb::post, "/api/v1/templates", Scope::operator_token, Body::raw, kPool, h::add_template},
    {verb::get, "/api/v1/templates/{template}", Scope::operator_token, Body::raw, kPool,
     h::show_template},
    {verb::delete_, "/api/v1/templates/{template}", Scope::operator_token, Body::raw, kPool,
     h::remove_template},
    {verb::post, "/api/v1/templates/{template}/labels", Scope::operator_token, Body::raw, kPool,
     h::label_template},
    {verb::get, "/api/v1/packages", Scope::operator_token, Body::raw, kPool, h::list_packages},
    {verb::post, "/api/v1/packages", Scope::operator_token, Body::raw, kPool, h::add_package},
    {verb::delete_, "/api/v1/packages/{package}", Scope::operator_token, Body::raw, kPool,
     h::remove_package},

    {verb::get, "/api/v1/deployments", Scope::operator_token, Body::raw, kPool,
     h::list_deployments},
    {verb::post, "/api/v1/deployments", Scope::operator_token, Body::raw, kPool,
     h::create_deployment},
    {verb::get, "/api/v1/deployments/{deployment}", Scope::operator_token, Body::raw, kPool,
     h::show_deployment},

    {verb::post, "/api/v1/site/diff", Scope::operator_token, Body::raw, kPool, h::site_diff},
    {verb::post, "/api/v1/site/apply", Scope::operator_token, Body::raw, kPool, h::site_apply},
    {verb::get, "/api/v1/site/status", Scope::operator_token, Body::raw, kPool, h::site_status},
    {verb::get, "/api/v1/vms", Scope::operator_token, Body::raw, kPool, h::list_vms},
    {verb::post, "/api/v1/vms/recall", Scope::operator_token, Body::raw, kPool, h::recall_vms},
    {verb::get, "/api/v1/vms/{vm}/guest", Scope::operator_token, Body::raw, kPool, h::vm_guest},
    {verb::get, "/api/v1/vms/{vm}/metrics", Scope::operator_token, Body::raw, kPool,
     h::vm_metrics},
    {verb::get, "/api/v1/metrics/latest", Scope::operator_token, Body::raw, kPool,
     h::latest_metrics},

    {verb::post, "/api/v1/agent/hello", Scope::hello, Body::raw, kPool, h::agent_hello},
    {verb::post, "/api/v1/agent/progress", Scope::imaging, Body::json, kPool, h::agent_progress},
    {verb::post, "/api/v1/agent/result", Scope::imaging, Body::json, kPool, h::agent_result},
    {verb::post, "/api/v1/agent/ready", Scope::dom0, Body::json, kPool, h::agent_ready},
    {verb::post, "/api/v1/agent/vms", Scope::dom0, Body::raw, kPool, h::agent_vms},
    {verb::post, "/api/v1/agent/actions/{action}", Scope::dom0, Body::json, kPool, h::agent_action},
    {verb::get, "/api/v1/agent/templates/{template}", Scope::dom0_or_operator, Body::raw, kPool,
     h::agent_template},
    {verb::get, "/api/v1/agent/templates/{template}/file", Scope::dom0_or_operator, Body::raw,
     kPool, h::agent_template_file},
    {verb::put, "/api/v1/agent/disks/{transfer}", Scope::dom0, Body::raw, kPool, h::disk_put},
    {verb::get, "/api/v1/agent/disks/{transfer}", Scope::dom0, Body::raw, kPool, h::disk_info},
    {verb::post, "/api/v1/agent/disks/{transfer}/done", Scope::dom0, Body::raw, kPool,
     h::disk_done},
    {verb::get, "/api/v1/agent/disks/{transfer}/data", Scope::dom0, Body::raw, kPool, h::disk_data},
    {verb::post, "/api/v1/guest/report", Scope::guest, Body::raw, kPool, h::guest_report},
    {verb::get, "/api/v1/guest/vms/{vm}/packages/{package}", Scope::guest, Body::raw, kPool,
     h::guest_package},
    {verb::get, "/api/v1/guest/vms/{vm}/packages/{package}/file", Scope::guest, Body::raw, kPool,
     h::guest_package_file},

    {verb::get, "/boot/{script...}", Scope::none, Body::raw, kPool, h::boot_script},
    {verb::get, "/netboot/vmlinuz", Scope::none, Body::raw, kPool, h::netboot_kernel},
    {verb::get, "/netboot/initrd.img", Scope::none, Body::raw, kPool, h::netboot_initrd},
    {verb::get, "/torrents/{file}", Scope::none, Body::raw, kPool, h::torrent},
};
// clang-format on

AgentScope agent_scope(Scope scope) {
    return scope == Scope::imaging ? AgentScope::imaging : AgentScope::dom0;
}

// The caller within the route's scope, with the host of its token and the JSON body when the
// route asks for them; else the answer to give instead.
std::optional<Response> admit(ApiContext& ctx, const Route& route, Call& call) {
    const Request& req = call.req;
    switch (route.scope) {
        case Scope::none:
        case Scope::hello:
        case Scope::guest:
            break;
        case Scope::operator_token:
            call.who = identify(req, ctx.auth);
            if (call.who.kind == Principal::Kind::none)  // a browser: its session cookie
                if (auto refused = admit_session(ctx, req, call.who)) return refused;
            if (call.who.kind != Principal::Kind::operator_token)
                return require_operator(req, ctx.auth);
            break;
        case Scope::dom0_or_operator:
            call.who = identify(req, ctx.auth);
            if (call.who.kind == Principal::Kind::operator_token) break;
            if (call.who.kind != Principal::Kind::host_token)
                return require_operator(req, ctx.auth);
            [[fallthrough]];
        case Scope::imaging:
        case Scope::dom0: {
            if (route.scope != Scope::dom0_or_operator) call.who = identify(req, ctx.auth);
            const AgentScope scope = agent_scope(route.scope);
            if (!call.who.host) return std::move(*require_host(req, call.who, 0, scope));
            if (auto denied = require_host(req, call.who, *call.who.host, scope)) return denied;
            auto host = ctx.store.get_host(*call.who.host);
            if (!host) return status_response(req, host.status());
            call.host = std::move(*host);
            break;
        }
    }
    if (route.body == Body::json) {
        auto body = json_body(req);
        if (!body) return body_error(req, body.status());
        call.body = std::move(*body);
        // A deployment token speaks for its own deployment only.
        if (call.who.kind == Principal::Kind::deployment_token) {
            auto named = call.body.find("deployment");
            if (named == call.body.end() || !named->is_number_integer() ||
                named->get<DeploymentId>() != call.who.deployment)
                return error_response(req, status::forbidden, "forbidden",
                                      "this deployment token is for deployment " +
                                          std::to_string(call.who.deployment));
        }
    }
    return std::nullopt;
}

}  // namespace

std::span<const Route> api_routes() {
    return kRoutes;
}

void mount_routes(imaging::http::Router& router, ApiContext& ctx) {
    for (const Route& route : kRoutes) {
        router.add(
            route.method, route.pattern,
            [&ctx, &route](const Request& req,
                           const imaging::http::RequestContext& http) -> imaging::http::Reply {
                Call call{req, http, {}, std::nullopt, nullptr};
                if (auto refused = admit(ctx, route, call)) return std::move(*refused);
                imaging::http::Reply reply = route.handler(ctx, call);
                // A change the web UI's pages may show: they hear of it on their stream.
                if (ctx.ui_feed && route.method != verb::get && reply.result_int() < 400)
                    ctx.ui_feed->changed(route.pattern);
                return reply;
            },
            route.dispatch);
    }
}

}  // namespace provisioner::server
