// /api/v1/images: import (from `imaging pack` output on the server), list, show, remove.
#include "api.h"
#include "api_support.h"
#include "imaging/manifest.h"
#include "import_paths.h"
#include "json_views.h"
#include "provisioner/image_import.h"

namespace provisioner::server {

using imaging::http::bhttp::verb;
using nlohmann::json;

namespace {

constexpr const char* kPrefix = "/api/v1/images/";

Response import_image(ApiContext& ctx, const Request& req) {
    auto body = json_body(req);
    if (!body) return body_error(req, body.status());
    auto requested = string_field(*body, "path");
    if (!requested) return status_response(req, requested.status());
    ImportPath checked = check_import_path(import_directories(ctx.config), ctx.config.state_dir,
                                           *requested, /*directory_tree=*/true);
    if (checked.refusal != ImportPath::Refusal::none) return import_refused(req, checked);
    const std::string path = checked.resolved.string();
    auto image = image_from_pack(path);
    if (!image) return status_response(req, image.status());
    if (auto verified = imaging::load_manifest(path, ctx.image_key); !verified)
        return status_response(
            req, Status::error(Code::invalid_argument,
                               "the manifest in " + path + " does not verify with this server's "
                               "key (sign images with STATE/site.key): " +
                                   verified.status().message()));
    auto added = ctx.store.add_image(*image);
    if (!added) return status_response(req, added.status());
    ctx.store.log_event(server_event("image " + added->name + "@" + added->version +
                                        " imported from " + added->path));
    return json_response(req, status::created, image_json(*added));
}

Response list_images(ApiContext& ctx, const Request& req) {
    auto images = ctx.store.list_images();
    if (!images) return status_response(req, images.status());
    json list = json::array();
    for (const Image& i : *images) list.push_back(image_json(i));
    return json_response(req, status::ok, {{"images", list}});
}

}  // namespace

void mount_image_api(imaging::http::Router& router, ApiContext& ctx) {
    auto guarded = [&ctx](std::function<Response(const Request&)> fn) {
        return operator_only(ctx.auth, std::move(fn));
    };
    auto with_image = [&ctx](auto fn) {
        return [&ctx, fn](const Request& req) -> Response {
            auto rest = path_rest(req, kPrefix);
            if (!rest || rest->empty() || rest->find('/') != std::string::npos)
                return error_response(req, status::not_found, "not_found", "no such route");
            auto image = resolve_image(ctx.store, *rest);
            if (!image) return status_response(req, image.status());
            return fn(req, *image);
        };
    };
    router.add(verb::get, "/api/v1/images",
               guarded([&ctx](const Request& r) { return list_images(ctx, r); }));
    router.add(verb::post, "/api/v1/images",
               guarded([&ctx](const Request& r) { return import_image(ctx, r); }));
    router.add_prefix(verb::get, kPrefix, guarded(with_image([](const Request& r, const Image& i) {
                          return json_response(r, status::ok, image_json(i));
                      })));
    router.add_prefix(verb::delete_, kPrefix,
                      guarded(with_image([&ctx](const Request& r, const Image& i) {
                          if (Status s = ctx.store.remove_image(i.id); !s)
                              return status_response(r, s);
                          return json_response(r, status::ok, image_json(i));
                      })));
}

}  // namespace provisioner::server
