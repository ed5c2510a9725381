// /api/v1/agent/disks/{transfer}: the disk of a VM on a cold move, uploaded in chunks by the
// source host's agent and downloaded by the destination's (provisioner/API.md, "Moving a
// VM"). The route table admits only Dom0 tokens; only the two hosts of a move under way
// (VmRegistry::transfer_hosts) may use its transfer: the source writes, either reads.
#include <charconv>

#include "api.h"
#include "api_routes.h"
#include "api_support.h"
#include "disk_transfers.h"
#include "imaging/http/query.h"

namespace provisioner::server {

using imaging::http::bhttp::verb;
using nlohmann::json;

namespace {

enum class Access { write, read };

// The caller's host may use the transfer (the source writes, either end reads), or the
// answer to give instead.
std::optional<Response> refuse_access(ApiContext& ctx, const Request& req, const Host& caller,
                                      const std::string& transfer, Access access) {
    auto hosts = ctx.vms.transfer_hosts(transfer);
    if (!hosts)
        return status_response(
            req, Status::error(Code::not_found, "no move under way with transfer " + transfer));
    const bool allowed =
        caller.id == hosts->source || (access == Access::read && caller.id == hosts->destination);
    if (allowed) return std::nullopt;
    return error_response(req, status::forbidden, "forbidden",
                          "transfer " + transfer + " belongs to other hosts");
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

}  // namespace

namespace handlers {

// PUT {transfer}?offset=N with the bytes as the body.
Reply disk_put(ApiContext& ctx, const Call& c) {
    const std::string transfer = c.param("transfer");
    if (auto refused = refuse_access(ctx, c.req, *c.host, transfer, Access::write))
        return std::move(*refused);
    auto offset = query_number(c.req, "offset", 0);
    if (!offset) return status_response(c.req, offset.status());
    if (Status s = ctx.disks->append(transfer, *offset, c.req.body()); !s)
        return status_response(c.req, s);
    return imaging::http::make_response(c.req, status::no_content, "");
}

// POST {transfer}/done {"size", "sha256"}.
Reply disk_done(ApiContext& ctx, const Call& c) {
    const std::string transfer = c.param("transfer");
    if (auto refused = refuse_access(ctx, c.req, *c.host, transfer, Access::write))
        return std::move(*refused);
    auto body = json_body(c.req);
    if (!body) return body_error(c.req, body.status());
    auto sha256 = string_field(*body, "sha256");
    if (!sha256) return status_response(c.req, sha256.status());
    auto size = body->find("size");
    if (size == body->end() || !size->is_number_unsigned())
        return status_response(c.req, Status::error(Code::invalid_argument, "done needs a size"));
    if (Status s = ctx.disks->complete(transfer, size->get<std::uint64_t>(), *sha256); !s)
        return status_response(c.req, s);
    return imaging::http::make_response(c.req, status::no_content, "");
}

// GET {transfer}: {"size", "sha256", "complete"}.
Reply disk_info(ApiContext& ctx, const Call& c) {
    const std::string transfer = c.param("transfer");
    if (auto refused = refuse_access(ctx, c.req, *c.host, transfer, Access::read))
        return std::move(*refused);
    auto info = ctx.disks->info(transfer);
    if (!info) return status_response(c.req, info.status());
    return json_response(
        c.req, status::ok,
        {{"size", info->size}, {"sha256", info->sha256}, {"complete", info->complete}});
}

// GET {transfer}/data?offset=N&length=M: the bytes.
Reply disk_data(ApiContext& ctx, const Call& c) {
    const std::string transfer = c.param("transfer");
    if (auto refused = refuse_access(ctx, c.req, *c.host, transfer, Access::read))
        return std::move(*refused);
    auto offset = query_number(c.req, "offset", 0);
    if (!offset) return status_response(c.req, offset.status());
    auto length = query_number(c.req, "length", DiskTransfers::kMaxChunk);
    if (!length) return status_response(c.req, length.status());
    auto bytes = ctx.disks->read(transfer, *offset, std::size_t(*length));
    if (!bytes) return status_response(c.req, bytes.status());
    return imaging::http::make_response(c.req, status::ok, std::move(*bytes),
                                        "application/octet-stream");
}

}  // namespace handlers

}  // namespace provisioner::server
