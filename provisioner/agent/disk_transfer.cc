#include "provisioner/agent/disk_transfer.h"
#include "base/json.h"

#include <fstream>
#include <system_error>

#include "imaging/digest.h"

namespace provisioner::agent {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kDiskApiPrefix = "/api/v1/agent/disks/";
constexpr std::chrono::milliseconds kChunkTimeout{120'000};

// "PUT ...: HTTP 400: offset 0, but ..." from the API's error body, else the status alone.
Status disk_api_refused(const std::string& what, const imaging::http::ClientResponse& r) {
    if (!r.transport_ok) return Status::error(Code::storage, what + ": " + r.error);
    std::string message = what + ": HTTP " + std::to_string(r.status);
    json body = base::parse_json(r.body).value;
    if (body.is_object() && body.contains("error") && body["error"].is_object() &&
        body["error"].contains("message") && body["error"]["message"].is_string())
        message += ": " + body["error"]["message"].get<std::string>();
    return Status::error(Code::storage, message);
}

std::span<const std::uint8_t> as_bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

ServerDisks::ServerDisks(std::string base_url, std::string token, HttpFunction http)
    : base_url_(first_server_url(base_url)), token_(std::move(token)), http_(std::move(http)) {
    while (base_url_.ends_with('/')) base_url_.pop_back();
}

imaging::http::ClientResponse ServerDisks::call(const std::string& method, const std::string& path,
                                                std::string body,
                                                const std::string& content_type) const {
    imaging::http::ClientRequest request;
    request.method = method;
    request.url = base_url_ + path;
    request.body = std::move(body);
    request.content_type = content_type;
    request.timeout = kChunkTimeout;
    request.max_body_bytes = kChunk + (1 << 10);
    if (!token_.empty()) request.headers.emplace_back("Authorization", "Bearer " + token_);
    return http_(request);
}

Status ServerDisks::upload(const std::string& transfer, const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::error(Code::storage, "reading " + path.string());
    imaging::Sha256Stream hash;
    std::uint64_t offset = 0;
    std::string chunk(kChunk, '\0');
    while (in) {
        in.read(chunk.data(), std::streamsize(chunk.size()));
        const auto n = std::size_t(in.gcount());
        if (n == 0) break;
        std::string bytes = chunk.substr(0, n);
        hash.update(as_bytes(bytes));
        const std::string where = kDiskApiPrefix + transfer + "?offset=" + std::to_string(offset);
        auto r = call("PUT", where, std::move(bytes), "application/octet-stream");
        if (!r.success()) return disk_api_refused("PUT " + where, r);
        offset += n;
    }
    if (in.bad()) return Status::error(Code::storage, "reading " + path.string());
    const std::string done = kDiskApiPrefix + transfer + "/done";
    json body{{"size", offset}, {"sha256", imaging::to_hex(hash.finish())}};
    auto r = call("POST", done, body.dump(), "application/json");
    if (!r.success()) return disk_api_refused("POST " + done, r);
    return Status::ok();
}

Status ServerDisks::download(const std::string& transfer, const fs::path& path) {
    Status s = fetch_into(transfer, path);
    if (!s) {
        std::error_code ec;
        fs::remove(path, ec);
    }
    return s;
}

Status ServerDisks::fetch_into(const std::string& transfer, const fs::path& path) {
    const std::string info_path = kDiskApiPrefix + transfer;
    auto r = call("GET", info_path, "", "application/json");
    if (!r.success()) return disk_api_refused("GET " + info_path, r);
    json info = base::parse_json(r.body).value;
    if (!info.is_object() || !info.value("complete", false) || !info.contains("size") ||
        !info["size"].is_number_unsigned() || !info.contains("sha256") ||
        !info["sha256"].is_string())
        return Status::error(Code::storage, "disk transfer " + transfer + " is not complete");
    const auto size = info["size"].get<std::uint64_t>();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return Status::error(Code::storage, "creating " + path.string());
    imaging::Sha256Stream hash;
    for (std::uint64_t offset = 0; offset < size;) {
        const std::string where = kDiskApiPrefix + transfer +
                                  "/data?offset=" + std::to_string(offset) +
                                  "&length=" + std::to_string(kChunk);
        auto chunk = call("GET", where, "", "application/json");
        if (!chunk.success()) return disk_api_refused("GET " + where, chunk);
        if (chunk.body.empty())
            return Status::error(Code::invalid_argument,
                                 "disk transfer " + transfer + " ended at byte " +
                                     std::to_string(offset) + " of " + std::to_string(size));
        hash.update(as_bytes(chunk.body));
        if (!out.write(chunk.body.data(), std::streamsize(chunk.body.size())))
            return Status::error(Code::storage, "writing " + path.string());
        offset += chunk.body.size();
    }
    out.close();
    if (!out) return Status::error(Code::storage, "writing " + path.string());
    if (imaging::to_hex(hash.finish()) != info["sha256"].get<std::string>())
        return Status::error(Code::invalid_argument,
                             "disk transfer " + transfer + " does not match its SHA-256");
    return Status::ok();
}

}  // namespace provisioner::agent
