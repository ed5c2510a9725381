// /api/v1/packages: the service packages the server keeps (add from a file on the server, list,
// remove), and /api/v1/guest/vms/{vm}/packages/{package}: a package's signed record and its
// file, for the guest agent of a VM whose site services name it (package_catalog.h).
#include "api.h"
#include "api_routes.h"
#include "api_support.h"
#include "import_paths.h"
#include "package_catalog.h"
#include "state.h"

namespace provisioner::server {

using imaging::http::bhttp::status;
using nlohmann::json;

namespace {

PackageCatalog catalog(const ApiContext& ctx) {
    return PackageCatalog(ctx.config.state_dir / "packages");
}

json package_json(const ApiContext& ctx, const wire::PackageRecord& r) {
    json out = wire::encode(r);
    out.erase("v");
    out["path"] = catalog(ctx).file(r.name).string();
    return out;
}

Response add(ApiContext& ctx, const Request& req) {
    auto body = json_body(req);
    if (!body) return body_error(req, body.status());
    auto path = string_field(*body, "path");
    if (!path) return status_response(req, path.status());
    // Only from the import directories, as templates and images: an operator token must not
    // make the server sign any file it can read.
    ImportPath checked =
        check_import_path(import_directories(ctx.config), ctx.config.state_dir, *path);
    if (checked.refusal != ImportPath::Refusal::none) return import_refused(req, checked);
    auto added = catalog(ctx).add(checked.resolved, StateFiles{ctx.config.state_dir}.signing_key());
    if (!added) return status_response(req, added.status());
    ctx.store.log_event(server_event("service package " + added->name + " " + added->version +
                                     " added from " + *path));
    return json_response(req, status::created, package_json(ctx, *added));
}

Response list(ApiContext& ctx, const Request& req) {
    auto all = catalog(ctx).list();
    if (!all) return status_response(req, all.status());
    json out = json::array();
    for (const auto& r : *all) out.push_back(package_json(ctx, r));
    return json_response(req, status::ok, {{"packages", out}});
}

Response remove(ApiContext& ctx, const Request& req, const std::string& name) {
    auto removed = catalog(ctx).remove(name);
    if (!removed) return status_response(req, removed.status());
    ctx.store.log_event(server_event("service package " + removed->name + " removed"));
    return json_response(req, status::ok, package_json(ctx, *removed));
}

// A guest may fetch only a package its own VM's site services name.
std::optional<Response> refuse_guest(ApiContext& ctx, const Request& req, const std::string& vm,
                                     const std::string& package) {
    auto header = req[imaging::http::bhttp::field::authorization];
    if (!ctx.auth.is_guest(std::string_view(header.data(), header.size()), vm))
        return error_response(req, status::unauthorized, "unauthorized",
                              "a guest token for VM \"" + vm + "\" is required");
    auto services = ctx.services.view(vm, ctx.store.now());
    bool wanted = false;
    if (services)
        for (const ServiceReport& s : services->services) wanted |= s.package == package;
    if (!wanted)
        return status_response(
            req, Status::error(Code::not_found,
                               "the site gives VM " + vm + " no service package " + package));
    return std::nullopt;
}

}  // namespace

namespace handlers {

Reply list_packages(ApiContext& ctx, const Call& c) {
    return list(ctx, c.req);
}
Reply add_package(ApiContext& ctx, const Call& c) {
    return server::add(ctx, c.req);
}
Reply remove_package(ApiContext& ctx, const Call& c) {
    return remove(ctx, c.req, c.param("package"));
}
Reply guest_package(ApiContext& ctx, const Call& c) {
    const std::string vm = c.param("vm"), package = c.param("package");
    if (auto refused = refuse_guest(ctx, c.req, vm, package)) return std::move(*refused);
    auto record = catalog(ctx).find(package);
    if (!record) return status_response(c.req, record.status());
    return json_response(c.req, status::ok, wire::encode(*record));
}
Reply guest_package_file(ApiContext& ctx, const Call& c) {
    const std::string vm = c.param("vm"), package = c.param("package");
    if (auto refused = refuse_guest(ctx, c.req, vm, package)) return std::move(*refused);
    auto record = catalog(ctx).find(package);
    if (!record) return status_response(c.req, record.status());
    auto reply = imaging::http::make_file_response(c.req, status::ok, catalog(ctx).file(package));
    if (!reply)
        return status_response(c.req, Status::error(Code::storage, reply.status().message()));
    return std::move(*reply);
}

}  // namespace handlers

}  // namespace provisioner::server
