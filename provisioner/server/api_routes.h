// provisionerd's route table: every route of the API and of the boot paths in one place
// (api_routes.cc), with its method, its path pattern (parameters as {name}), the token it
// needs, whether its body is read as JSON before the handler runs, and where it runs. The
// handlers live in the api_*.cc file of their area and get a Call: the request, its path
// parameters, and what the scope check found.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "api.h"
#include "auth.h"
#include "imaging/http/router.h"

namespace provisioner::server {

// The token a route needs, checked before its handler runs (401 without a token or with a
// refused one, 403 with a token of another kind or of another host).
enum class Scope {
    none,              // anyone: health, what firmware fetches
    operator_token,    // an operator API token
    hello,             // the handler checks: the hello's MAC names the host whose token it needs
                       // (boot ticket, deployment token or Dom0 token; none to discover)
    imaging,           // a host's deployment token (for its own deployment) or Dom0 token
    dom0,              // a host's Dom0 token
    dom0_or_operator,  // a Dom0 token or an operator token
    guest,             // the handler checks: the guest token of the VM the body names
};

// Scope imaging: a body naming another deployment than the token's is refused (403).
enum class Body { raw, json };  // json: parsed before the handler (400, 413 when it fails)

struct Call {
    const imaging::http::Request& req;
    const imaging::http::RequestContext& http;
    Principal who;             // the caller, for every scope but none
    std::optional<Host> host;  // imaging, dom0, and dom0_or_operator with a Dom0 token: its host
    nlohmann::json body;       // Body::json: the request's JSON object
    // The value of {name} in the route's pattern ("" when it has none).
    std::string param(std::string_view name) const { return http.params.get(name); }
};

using RouteFn = imaging::http::Reply (*)(ApiContext&, const Call&);

struct Route {
    imaging::http::bhttp::verb method;
    const char* pattern;
    Scope scope;
    Body body;
    imaging::http::Dispatch dispatch;
    RouteFn handler;
};

// The table, as api_routes.cc lists it.
std::span<const Route> api_routes();

// Mounts every route of the table on router, each behind its scope check.
void mount_routes(imaging::http::Router& router, ApiContext& ctx);

// The handlers, by area (each file's header comment says what its area serves).
namespace handlers {
using imaging::http::Reply;
// api.cc
Reply health(ApiContext&, const Call&);
Reply events(ApiContext&, const Call&);
Reply list_tokens(ApiContext&, const Call&);
Reply create_token(ApiContext&, const Call&);
Reply revoke_token(ApiContext&, const Call&);
// api_jobs.cc
Reply show_job(ApiContext&, const Call&);
// api_metrics.cc
Reply metrics(ApiContext&, const Call&);
// api_history.cc
Reply host_metrics(ApiContext&, const Call&);
Reply vm_metrics(ApiContext&, const Call&);
Reply latest_metrics(ApiContext&, const Call&);
// api_hosts.cc
Reply list_hosts(ApiContext&, const Call&);
Reply add_host(ApiContext&, const Call&);
Reply import_hosts(ApiContext&, const Call&);
Reply show_host(ApiContext&, const Call&);
Reply remove_host(ApiContext&, const Call&);
Reply accept_host(ApiContext&, const Call&);
Reply host_dom0(ApiContext&, const Call&);
// api_power.cc
Reply set_bmc(ApiContext&, const Call&);
Reply show_bmc(ApiContext&, const Call&);
Reply remove_bmc(ApiContext&, const Call&);
Reply power(ApiContext&, const Call&);
// api_images.cc
Reply list_images(ApiContext&, const Call&);
Reply import_image(ApiContext&, const Call&);
Reply show_image(ApiContext&, const Call&);
Reply remove_image(ApiContext&, const Call&);
// api_templates.cc
Reply list_templates(ApiContext&, const Call&);
Reply add_template(ApiContext&, const Call&);
Reply show_template(ApiContext&, const Call&);
Reply label_template(ApiContext&, const Call&);
Reply remove_template(ApiContext&, const Call&);
Reply agent_template(ApiContext&, const Call&);
Reply agent_template_file(ApiContext&, const Call&);
// api_packages.cc
Reply list_packages(ApiContext&, const Call&);
Reply add_package(ApiContext&, const Call&);
Reply remove_package(ApiContext&, const Call&);
Reply guest_package(ApiContext&, const Call&);
Reply guest_package_file(ApiContext&, const Call&);
// api_deployments.cc
Reply list_deployments(ApiContext&, const Call&);
Reply create_deployment(ApiContext&, const Call&);
Reply show_deployment(ApiContext&, const Call&);
// api_agent.cc
Reply agent_hello(ApiContext&, const Call&);
Reply agent_progress(ApiContext&, const Call&);
Reply agent_result(ApiContext&, const Call&);
Reply agent_ready(ApiContext&, const Call&);
// api_site.cc
Reply site_diff(ApiContext&, const Call&);
Reply site_apply(ApiContext&, const Call&);
Reply site_status(ApiContext&, const Call&);
Reply list_vms(ApiContext&, const Call&);
Reply recall_vms(ApiContext&, const Call&);
Reply vm_guest(ApiContext&, const Call&);
Reply guest_report(ApiContext&, const Call&);
Reply agent_vms(ApiContext&, const Call&);
Reply agent_action(ApiContext&, const Call&);
// api_disks.cc
Reply disk_put(ApiContext&, const Call&);
Reply disk_done(ApiContext&, const Call&);
Reply disk_info(ApiContext&, const Call&);
Reply disk_data(ApiContext&, const Call&);
// api_ui.cc
Reply ui_index(ApiContext&, const Call&);
Reply ui_asset(ApiContext&, const Call&);
Reply sign_in(ApiContext&, const Call&);
Reply show_session(ApiContext&, const Call&);
Reply sign_out(ApiContext&, const Call&);
Reply stream(ApiContext&, const Call&);
Reply current_site(ApiContext&, const Call&);
// api_boot.cc
Reply boot_script(ApiContext&, const Call&);
Reply netboot_kernel(ApiContext&, const Call&);
Reply netboot_initrd(ApiContext&, const Call&);
Reply torrent(ApiContext&, const Call&);
}  // namespace handlers

}  // namespace provisioner::server
