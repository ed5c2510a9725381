// /api/v1/images: import (from `imaging pack` output on the server; a job that verifies every
// chunk before the image is recorded), list, show, remove.
#include <vector>

#include "api.h"
#include "api_routes.h"
#include "api_support.h"
#include "imaging/manifest.h"
#include "imaging/packed_image.h"
#include "import_paths.h"
#include "json_views.h"
#include "provisioner/image_import.h"

namespace provisioner::server {

using imaging::http::bhttp::verb;
using nlohmann::json;

namespace {

Status not_signed_here(const std::string& path, const imaging::Status& why) {
    return Status::error(Code::invalid_argument,
                         "the manifest in " + path + " does not verify with this server's key "
                         "(sign images with STATE/site.key): " + why.message());
}

// The job: every chunk read and checked against the signed manifest, then the record.
Result<json> import_verified(ApiContext& ctx, const std::string& path, const Image& image,
                             JobProgress& progress) {
    auto packed = imaging::PackedImage::open(path, ctx.image_key);
    if (!packed) return not_signed_here(path, packed.status());
    const imaging::Manifest& m = (*packed)->manifest();
    progress.stage("verifying", m.raw_size);
    std::vector<std::uint8_t> chunk;
    for (std::size_t i = 0; i < m.chunks.size(); ++i) {
        chunk.resize(m.chunk_length(i));
        if (imaging::Status s = (*packed)->read_chunk(i, chunk); !s.is_ok())
            return Status::error(Code::invalid_argument, "chunk " + std::to_string(i) + " of " +
                                                             path + ": " + s.message());
        progress.advance(m.chunk_offset(i) + chunk.size());
    }
    auto added = ctx.store.add_image(image);
    if (!added) return added.status();
    ctx.store.log_event(server_event("image " + added->name + "@" + added->version +
                                     " imported from " + added->path));
    return image_json(*added);
}

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
    // The manifest's signature and the name@version are checked here, at once; the chunks,
    // which are the image's whole size, in the job.
    if (auto verified = imaging::load_manifest(path, ctx.image_key); !verified)
        return status_response(req, not_signed_here(path, verified.status()));
    if (auto existing = ctx.store.find_image(image->name, image->version))
        return status_response(req, Status::error(Code::conflict,
                                                  "image " + image->name + "@" + image->version +
                                                      " exists already"));
    return job_started(ctx, req, "image_import",
                       "image " + image->name + "@" + image->version + " from " + path,
                       [&ctx, path, image = *image](JobProgress& progress) {
                           return import_verified(ctx, path, image, progress);
                       });
}

Response list_images(ApiContext& ctx, const Request& req) {
    auto images = ctx.store.list_images();
    if (!images) return status_response(req, images.status());
    json list = json::array();
    for (const Image& i : *images) list.push_back(image_json(i));
    return json_response(req, status::ok, {{"images", list}});
}

}  // namespace

namespace handlers {
namespace {

template <class Fn>
Reply with_image(ApiContext& ctx, const Call& c, Fn fn) {
    auto image = resolve_image(ctx.store, c.param("image"));
    if (!image) return status_response(c.req, image.status());
    return fn(*image);
}

}  // namespace

Reply list_images(ApiContext& ctx, const Call& c) { return server::list_images(ctx, c.req); }
Reply import_image(ApiContext& ctx, const Call& c) { return server::import_image(ctx, c.req); }
Reply show_image(ApiContext& ctx, const Call& c) {
    return with_image(ctx, c,
                      [&](const Image& i) { return json_response(c.req, status::ok, image_json(i)); });
}
Reply remove_image(ApiContext& ctx, const Call& c) {
    return with_image(ctx, c, [&](const Image& i) {
        if (Status s = ctx.store.remove_image(i.id); !s) return status_response(c.req, s);
        return json_response(c.req, status::ok, image_json(i));
    });
}

}  // namespace handlers

}  // namespace provisioner::server
