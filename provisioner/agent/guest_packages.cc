#include "provisioner/agent/guest_packages.h"

#include <fstream>
#include <system_error>

#include "base/json.h"
#include "imaging/digest.h"
#include "imaging/http/query.h"

namespace provisioner::agent {
namespace {

namespace fs = std::filesystem;
using imaging::Result;
using imaging::Status;

constexpr std::chrono::milliseconds kRecordTimeout{15'000};
constexpr std::chrono::milliseconds kFileTimeout{300'000};

// "HTTP 500: <the API's error message>", else the transport's failure.
std::string failure(const imaging::http::ClientResponse& r) {
    if (!r.transport_ok) return r.error;
    std::string message = "HTTP " + std::to_string(r.status);
    auto body = base::parse_json(r.body);
    if (body && body.value.is_object() && body.value.contains("error") &&
        body.value["error"].is_object() && body.value["error"].contains("message") &&
        body.value["error"]["message"].is_string())
        message += ": " + body.value["error"]["message"].get<std::string>();
    return message;
}

}  // namespace

ServerPackages::ServerPackages(std::string base_url, std::string vm, std::string token,
                               fs::path key_file, HttpFunction http)
    : base_url_(std::move(base_url)),
      vm_(std::move(vm)),
      token_(std::move(token)),
      key_file_(std::move(key_file)),
      http_(std::move(http)) {
    while (base_url_.ends_with('/')) base_url_.pop_back();
}

imaging::http::ClientResponse ServerPackages::get(const std::string& path,
                                                  std::size_t max_body) const {
    imaging::http::ClientRequest request;
    request.method = "GET";
    request.url =
        base_url_ + "/api/v1/guest/vms/" + imaging::http::percent_encode(vm_) + "/packages/" + path;
    request.timeout = max_body > (1u << 20) ? kFileTimeout : kRecordTimeout;
    request.max_body_bytes = max_body;
    if (!token_.empty()) request.headers.emplace_back("Authorization", "Bearer " + token_);
    return http_(request);
}

Result<std::optional<wire::PackageRecord>> ServerPackages::lookup(const std::string& package) {
    const std::string what = "package " + package + " from " + base_url_;
    auto answer = get(imaging::http::percent_encode(package), 64 << 10);
    if (answer.transport_ok && answer.status == 404) return std::optional<wire::PackageRecord>();
    if (!answer.success()) return Status::error("asking for " + what + ": " + failure(answer));
    auto body = base::parse_json(answer.body);
    if (!body) return Status::error(what + ": " + body.error);
    auto record = wire::decode<wire::PackageRecord>(body.value);
    if (!record) return Status::error(what + ": " + record.status().message());
    if (record->name != package)
        return Status::error(what + ": the server's record names package " + record->name);
    std::error_code ec;
    if (!fs::exists(key_file_, ec))
        return Status::error(what + ": no pinned site key " + key_file_.string() +
                             " to check its signature (images/build-guest --site-key)");
    auto key = imaging::VerifyKey::load(key_file_);
    if (!key) return Status::error(what + ": the site key: " + key.status().message());
    if (!key->verify(wire::package_signed_text(*record), record->signature))
        return Status::error(what + ": its signature does not verify with the site key " +
                             key_file_.string());
    return std::optional<wire::PackageRecord>(std::move(*record));
}

Result<fs::path> ServerPackages::download(const wire::PackageRecord& record, const fs::path& dir) {
    const std::string what = "downloading package " + record.name + " from " + base_url_;
    auto answer =
        get(imaging::http::percent_encode(record.name) + "/file", std::size_t(record.size) + 1);
    if (!answer.success()) return Status::error(what + ": " + failure(answer));
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(answer.body.data());
    if (answer.body.size() != record.size)
        return Status::error(what + ": " + std::to_string(answer.body.size()) +
                             " bytes where its signed record says " + std::to_string(record.size));
    if (imaging::to_hex(imaging::sha256({bytes, answer.body.size()})) != record.sha256)
        return Status::error(what + ": its SHA-256 is not the one its signed record gives");
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Status::error("creating " + dir.string() + ": " + ec.message());
    const fs::path file = dir / (record.name + ".deb");
    const fs::path partial = dir / (record.name + ".deb.partial");
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        out.write(answer.body.data(), std::streamsize(answer.body.size()));
        out.close();
        if (!out) {
            fs::remove(partial, ec);
            return Status::error("writing " + partial.string());
        }
    }
    fs::rename(partial, file, ec);
    if (ec) return Status::error("renaming to " + file.string() + ": " + ec.message());
    return file;
}

}  // namespace provisioner::agent
