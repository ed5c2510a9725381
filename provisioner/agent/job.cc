#include "provisioner/agent/job.h"

#include <algorithm>

#include "imaging/secret.h"

namespace provisioner::agent {
namespace {

using imaging::Result;
using imaging::Status;
using json = nlohmann::json;

std::string string_at(const json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::uint64_t unsigned_at(const json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

Result<Job> parse_job(const json& j) {
    if (!j.is_object()) return Status::error("no job object");
    Job job;
    auto dep = j.find("deployment");
    if (dep == j.end() || !dep->is_number_integer()) return Status::error("job: no deployment id");
    job.deployment = dep->get<std::int64_t>();
    job.transport = string_at(j, "transport");
    if (auto image = j.find("image"); image != j.end() && image->is_object()) {
        job.image_name = string_at(*image, "name");
        job.image_version = string_at(*image, "version");
        job.raw_size = unsigned_at(*image, "raw_size");
        job.stored_size = unsigned_at(*image, "stored_size");
        job.image_sha256 = string_at(*image, "image_sha256");
    }
    // Without it any image signed with the site key would do, a template or an old version.
    if (job.image_sha256.size() != 64 || job.image_name.empty())
        return Status::error("job: the image is not pinned (name and a 64-digit image_sha256)");
    job.token = string_at(j, "token");
    job.dom0_token = string_at(j, "dom0_token");
    job.pubkey_pem = string_at(j, "pubkey");
    if (job.pubkey_pem.empty()) return Status::error("job: no pubkey");
    job.disk = string_at(j, "disk");
    job.secret = string_at(j, "secret");
    if (!job.secret.empty() && !imaging::secret_from_hex(job.secret))
        return Status::error("job: \"secret\" is not 64 hex digits");
    const json params = j.value(job.transport, json::object());
    if (!params.is_object()) return Status::error("job: \"" + job.transport + "\" is no object");
    if (job.transport == "delta") {
        job.delta_from = string_at(params, "from");
        if (job.delta_from.empty()) return Status::error("job: delta without \"from\"");
    } else if (job.transport == "multicast") {
        job.multicast_group = string_at(params, "group");
        job.multicast_port = unsigned(unsigned_at(params, "port"));
        if (job.multicast_group.empty() || job.multicast_port == 0 || job.multicast_port > 65535)
            return Status::error("job: multicast without a group and port");
    } else if (job.transport == "torrent") {
        job.torrent_url = string_at(params, "url");
        if (job.torrent_url.empty()) return Status::error("job: torrent without \"url\"");
    } else {
        return Status::error("job: unknown transport \"" + job.transport + "\"");
    }
    return job;
}

}  // namespace

Result<HelloAction> parse_hello_answer(const json& answer) {
    if (!answer.is_object()) return Status::error("hello answer: not a JSON object");
    std::string action = string_at(answer, "action");
    HelloAction out;
    if (action == "image") {
        auto job = parse_job(answer.value("job", json()));
        if (!job) return job.status().context("hello answer");
        out.kind = HelloAction::Kind::image;
        out.job = std::move(*job);
    } else if (action == "wait") {
        out.kind = HelloAction::Kind::wait;
        std::uint64_t ms = unsigned_at(answer, "retry_after_ms");
        out.retry_after =
            std::chrono::milliseconds(ms == 0 ? 2000 : std::min<std::uint64_t>(ms, 60'000));
    } else if (action == "none") {
        out.kind = HelloAction::Kind::none;
        out.reason = string_at(answer, "reason");
    } else {
        return Status::error("hello answer: unknown action \"" + action + "\"");
    }
    return out;
}

}  // namespace provisioner::agent
