#include "provisioner/agent/template_fetch.h"
#include "base/json.h"

#include <fstream>
#include <system_error>

#include "imaging/digest.h"
#include "provisioner/vmhost/template_ref.h"

namespace provisioner::agent {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kPrefix = "/api/v1/agent/templates/";
constexpr int kMaxDepth = 16;  // backing chains deeper than this are refused as a loop
constexpr std::chrono::milliseconds kRecordTimeout{15'000};
// A template's file comes whole in one response: big ones belong to the imaging transports.
constexpr std::chrono::milliseconds kFileTimeout{600'000};

std::string string_or_empty(const json& record, const char* key) {
    auto it = record.find(key);
    return it != record.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "HTTP 404: no template web@9" from the API's error body, else the status alone.
Status refused(const std::string& what, const imaging::http::ClientResponse& r) {
    if (!r.transport_ok) return Status::error(Code::storage, what + ": " + r.error);
    const Code code = r.status == 404 ? Code::not_found : Code::storage;
    std::string message = what + ": HTTP " + std::to_string(r.status);
    json body = base::parse_json(r.body).value;
    if (body.is_object() && body.contains("error") && body["error"].is_object())
        message += ": " + string_or_empty(body["error"], "message");
    return Status::error(code, message);
}

// The record's template as the store takes it; invalid_argument for a record without them.
Result<vmhost::TemplateSpec> spec_from(const json& record, const std::string& id) {
    vmhost::TemplateSpec spec;
    spec.name = string_or_empty(record, "name");
    spec.version = string_or_empty(record, "version");
    spec.format = string_or_empty(record, "format");
    spec.parent = string_or_empty(record, "backing");
    if (spec.name + "@" + spec.version != id || !record.contains("size") ||
        !record["size"].is_number_unsigned() || string_or_empty(record, "sha256").size() != 64)
        return Status::error(Code::invalid_argument,
                             "the server's record of template " + id + " is incomplete");
    if (record.contains("labels") && record["labels"].is_array())
        for (const json& l : record["labels"])
            if (l.is_string()) spec.labels.push_back(l.get<std::string>());
    return spec;
}

Status write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.close();
    if (!out) return Status::error(Code::storage, "writing " + path.string());
    return Status::ok();
}

}  // namespace

ServerTemplates::ServerTemplates(std::string base_url, std::string token, HttpFunction http)
    : base_url_(first_server_url(base_url)), token_(std::move(token)), http_(std::move(http)) {
    while (base_url_.ends_with('/')) base_url_.pop_back();
}

imaging::http::ClientResponse ServerTemplates::get(const std::string& path,
                                                   std::size_t max_body) const {
    imaging::http::ClientRequest request;
    request.method = "GET";
    request.url = base_url_ + path;
    request.timeout = max_body > (1u << 20) ? kFileTimeout : kRecordTimeout;
    request.max_body_bytes = max_body;
    if (!token_.empty()) request.headers.emplace_back("Authorization", "Bearer " + token_);
    return http_(request);
}

Status ServerTemplates::ensure(const std::string& ref, vmhost::TemplateStore& store) {
    auto parsed = vmhost::parse_template_ref(ref);
    if (!parsed || parsed->version.empty() || !parsed->labels.empty()) return Status::ok();
    return fetch(ref, store, 0);
}

Status ServerTemplates::fetch(const std::string& id, vmhost::TemplateStore& store, int depth) {
    if (store.resolve(id)) return Status::ok();
    if (depth > kMaxDepth)
        return Status::error(Code::invalid_argument, "template " + id + ": backing chain too deep");
    const std::string what = "fetching template " + id + " from " + base_url_;
    auto answer = get(kPrefix + id, 1 << 20);
    if (!answer.success()) return refused(what, answer);
    json record = base::parse_json(answer.body).value;
    auto spec = spec_from(record, id);
    if (!spec) return spec.status();
    if (!spec->parent.empty())
        if (Status s = fetch(spec->parent, store, depth + 1); !s) return s;
    const std::uint64_t size = record["size"].get<std::uint64_t>();
    auto file = get(kPrefix + id + "/file", std::size_t(size) + 1);
    if (!file.success()) return refused(what, file);
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(file.body.data());
    if (file.body.size() != size ||
        imaging::to_hex(imaging::sha256({bytes, file.body.size()})) != record["sha256"])
        return Status::error(Code::invalid_argument,
                             what + ": the file does not match its size and SHA-256");
    const fs::path download = store.dir() / (id + ".download");
    Status s = write_file(download, file.body);
    if (s) s = store.add(*spec, download, vmhost::AddMode::move).status();
    std::error_code ec;
    fs::remove(download, ec);
    return s;
}

}  // namespace provisioner::agent
