#include "api_disks.h"

#include <charconv>

#include "api_support.h"
#include "imaging/http/query.h"

namespace provisioner::server {

using imaging::http::bhttp::verb;
using nlohmann::json;

namespace {

constexpr const char* kPrefix = "/api/v1/agent/disks/";

enum class Access { write, read };

// The transfer named by the path ("ID" or "ID/what") and what follows it.
struct Target {
    std::string transfer;
    std::string what;
};

// The caller's host may use the transfer (the source writes, either end reads), or the
// answer to give instead.
std::optional<Response> refuse_access(ApiContext& ctx, const Request& req,
                                      const std::string& transfer, Access access) {
    Principal who = identify(req, ctx.auth);
    if (who.kind != Principal::Kind::host_token) return require_host(req, who, 0);
    auto hosts = ctx.vms.transfer_hosts(transfer);
    if (!hosts)
        return status_response(
            req, Status::error(Code::not_found, "no move under way with transfer " + transfer));
    const bool allowed =
        *who.host == hosts->source || (access == Access::read && *who.host == hosts->destination);
    if (allowed) return std::nullopt;
    return error_response(req, status::forbidden, "forbidden",
                          "transfer " + transfer + " belongs to other hosts");
}

Result<Target> target_of(const Request& req) {
    auto rest = path_rest(req, kPrefix);
    if (!rest || rest->empty())
        return Status::error(Code::invalid_argument, "the path needs a transfer id");
    auto slash = rest->find('/');
    if (slash == std::string::npos) return Target{*rest, ""};
    return Target{rest->substr(0, slash), rest->substr(slash + 1)};
}

// A non-negative integer query parameter, or fallback when absent.
Result<std::uint64_t> query_number(const Request& req, const char* key, std::uint64_t fallback) {
    auto query =
        imaging::http::parse_query(std::string_view(req.target().data(), req.target().size()));
    if (!query) return Status::error(Code::invalid_argument, "malformed query");
    auto v = imaging::http::query_value(*query, key);
    if (!v) return fallback;
    std::uint64_t out = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || end != v->data() + v->size())
        return Status::error(Code::invalid_argument, std::string(key) + " must be a number");
    return out;
}

// PUT ID?offset=N with the bytes as the body.
Response put_chunk(ApiContext& ctx, DiskTransfers& disks, const Request& req) {
    auto target = target_of(req);
    if (!target || !target->what.empty())
        return status_response(req, Status::error(Code::not_found, "no such route"));
    if (auto refused = refuse_access(ctx, req, target->transfer, Access::write))
        return std::move(*refused);
    auto offset = query_number(req, "offset", 0);
    if (!offset) return status_response(req, offset.status());
    if (Status s = disks.append(target->transfer, *offset, req.body()); !s)
        return status_response(req, s);
    return imaging::http::make_response(req, status::no_content, "");
}

// POST ID/done {"size", "sha256"}.
Response post_done(ApiContext& ctx, DiskTransfers& disks, const Request& req) {
    auto target = target_of(req);
    if (!target || target->what != "done")
        return status_response(req, Status::error(Code::not_found, "no such route"));
    if (auto refused = refuse_access(ctx, req, target->transfer, Access::write))
        return std::move(*refused);
    auto body = json_body(req);
    if (!body) return body_error(req, body.status());
    auto sha256 = string_field(*body, "sha256");
    if (!sha256) return status_response(req, sha256.status());
    auto size = body->find("size");
    if (size == body->end() || !size->is_number_unsigned())
        return status_response(req, Status::error(Code::invalid_argument, "done needs a size"));
    if (Status s = disks.complete(target->transfer, size->get<std::uint64_t>(), *sha256); !s)
        return status_response(req, s);
    return imaging::http::make_response(req, status::no_content, "");
}

// GET ID: {"size", "sha256", "complete"}; GET ID/data?offset=N&length=M: the bytes.
Response get_disk(ApiContext& ctx, DiskTransfers& disks, const Request& req) {
    auto target = target_of(req);
    if (!target || (!target->what.empty() && target->what != "data"))
        return status_response(req, Status::error(Code::not_found, "no such route"));
    if (auto refused = refuse_access(ctx, req, target->transfer, Access::read))
        return std::move(*refused);
    if (target->what.empty()) {
        auto info = disks.info(target->transfer);
        if (!info) return status_response(req, info.status());
        return json_response(
            req, status::ok,
            {{"size", info->size}, {"sha256", info->sha256}, {"complete", info->complete}});
    }
    auto offset = query_number(req, "offset", 0);
    if (!offset) return status_response(req, offset.status());
    auto length = query_number(req, "length", DiskTransfers::kMaxChunk);
    if (!length) return status_response(req, length.status());
    auto bytes = disks.read(target->transfer, *offset, std::size_t(*length));
    if (!bytes) return status_response(req, bytes.status());
    return imaging::http::make_response(req, status::ok, std::move(*bytes),
                                        "application/octet-stream");
}

}  // namespace

void mount_disk_api(imaging::http::Router& router, ApiContext& ctx,
                    std::shared_ptr<DiskTransfers> disks) {
    using Fn = Response (*)(ApiContext&, DiskTransfers&, const Request&);
    auto route = [&ctx, disks](Fn fn) {
        return [&ctx, disks, fn](const Request& req, const imaging::http::RequestContext&) {
            return fn(ctx, *disks, req);
        };
    };
    router.add_prefix(verb::put, kPrefix, route(put_chunk));
    router.add_prefix(verb::post, kPrefix, route(post_done));
    router.add_prefix(verb::get, kPrefix, route(get_disk));
}

}  // namespace provisioner::server
