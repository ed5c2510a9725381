#include "provisioner/wire/hello.h"

#include <algorithm>

#include "reader.h"

namespace provisioner::wire {

using detail::Need;
using detail::Reader;
using nlohmann::json;

namespace {

// imaging/delivery.h's rule, restated: wire depends on base alone.
bool is_receiver_id(const std::string& id) {
    return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == ':' || c == '/' || c == '-';
           });
}

bool is_hex64(const std::string& text) {
    return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
           });
}

constexpr Transport kTransports[] = {Transport::delta, Transport::multicast, Transport::torrent};

}  // namespace

const char* to_string(Transport transport) {
    switch (transport) {
        case Transport::delta:
            return "delta";
        case Transport::multicast:
            return "multicast";
        case Transport::torrent:
            return "torrent";
    }
    return "?";
}

json encode(const Hello& hello) {
    json out = {{"v", Hello::kVersion}, {"mac", hello.mac}, {"mode", hello.mode}};
    if (!hello.facts.is_null()) out["facts"] = hello.facts;
    return out;
}

template <>
Result<Hello> decode<Hello>(const json& message) {
    Reader r(Hello::kName, message);
    Hello hello;
    r.version(Hello::kVersion);
    r.nonempty_string("mac", hello.mac, Need::required);
    r.nonempty_string("mode", hello.mode, Need::optional);
    r.object("facts", hello.facts, Need::optional);
    return detail::finish(r, std::move(hello));
}

json encode(const Job& job) {
    json out = {{"v", Job::kVersion},
                {"deployment", job.deployment},
                {"transport", to_string(job.transport)},
                {"image",
                 {{"id", job.image_id},
                  {"name", job.image_name},
                  {"version", job.image_version},
                  {"raw_size", job.raw_size},
                  {"stored_size", job.stored_size},
                  {"image_sha256", job.image_sha256}}},
                {"pubkey", job.pubkey_pem},
                {"disk", job.disk},
                {"host", job.host}};
    if (!job.token.empty()) out["token"] = job.token;
    if (!job.dom0_token.empty()) out["dom0_token"] = job.dom0_token;
    if (!job.secret.empty()) out["secret"] = job.secret;
    if (!job.receiver_id.empty()) out["receiver_id"] = job.receiver_id;
    if (!job.receipt_key.empty()) out["receipt_key"] = job.receipt_key;
    switch (job.transport) {
        case Transport::delta:
            out["delta"] = {{"from", job.delta_from}};
            break;
        case Transport::multicast:
            out["multicast"] = {{"group", job.multicast_group}, {"port", job.multicast_port}};
            break;
        case Transport::torrent:
            out["torrent"] = {{"url", job.torrent_url}};
            if (!job.torrent_peer_cert.empty()) out["torrent"]["peer_cert"] = job.torrent_peer_cert;
            break;
    }
    return out;
}

template <>
Result<Job> decode<Job>(const json& message) {
    Reader r(Job::kName, message);
    Job job;
    r.version(Job::kVersion);
    r.integer("deployment", job.deployment, Need::required);
    std::string transport;
    r.string("transport", transport, Need::required);
    if (r.ok()) {
        auto known = std::find_if(std::begin(kTransports), std::end(kTransports),
                                  [&](Transport t) { return transport == to_string(t); });
        if (known == std::end(kTransports))
            r.fail("transport", "must be delta, multicast or torrent, not \"" + transport + "\"");
        else
            job.transport = *known;
    }
    Reader image = r.child("image", Need::required);
    image.integer("id", job.image_id, Need::optional);
    image.nonempty_string("name", job.image_name, Need::required);
    image.string("version", job.image_version, Need::optional);
    image.unsigned_integer("raw_size", job.raw_size, Need::optional);
    image.unsigned_integer("stored_size", job.stored_size, Need::optional);
    image.string("image_sha256", job.image_sha256, Need::required);
    // Without it any image signed with the site key would do, a template or an old version.
    if (r.ok() && !is_hex64(job.image_sha256))
        image.fail("image_sha256", "must be 64 hex digits (the job pins its image)");
    r.nonempty_string("pubkey", job.pubkey_pem, Need::required);
    r.string("disk", job.disk, Need::optional);
    r.string("host", job.host, Need::optional);
    r.string("token", job.token, Need::optional);
    r.string("dom0_token", job.dom0_token, Need::optional);
    r.string("secret", job.secret, Need::optional);
    if (r.ok() && !job.secret.empty() && !is_hex64(job.secret))
        r.fail("secret", "must be 64 hex digits");
    r.string("receiver_id", job.receiver_id, Need::optional);
    if (r.ok() && !job.receiver_id.empty() && !is_receiver_id(job.receiver_id))
        r.fail("receiver_id", "must be 1 to 64 of A-Z a-z 0-9 . _ : / -");
    r.string("receipt_key", job.receipt_key, Need::optional);
    if (r.ok() && !job.receipt_key.empty() && !is_hex64(job.receipt_key))
        r.fail("receipt_key", "must be 64 hex digits");
    if (!r.ok()) return r.status();
    // Only the transport's own object is read: another one present is an unknown field.
    Reader params = r.child(to_string(job.transport), Need::required);
    switch (job.transport) {
        case Transport::delta:
            params.nonempty_string("from", job.delta_from, Need::required);
            break;
        case Transport::multicast:
            params.nonempty_string("group", job.multicast_group, Need::required);
            params.unsigned_integer("port", job.multicast_port, Need::required);
            if (r.ok() && job.multicast_port == 0) params.fail("port", "must not be 0");
            break;
        case Transport::torrent:
            params.nonempty_string("url", job.torrent_url, Need::required);
            params.string("peer_cert", job.torrent_peer_cert, Need::optional);
            if (r.ok() && !job.torrent_peer_cert.empty() &&
                (job.torrent_peer_cert.find("-----BEGIN CERTIFICATE-----") == std::string::npos ||
                 job.torrent_peer_cert.find("PRIVATE KEY-----") == std::string::npos))
                params.fail("peer_cert", "must hold a PEM certificate and its private key");
            break;
    }
    return detail::finish(r, std::move(job));
}

namespace {

const char* action_name(HelloAnswer::Action action) {
    switch (action) {
        case HelloAnswer::Action::image:
            return "image";
        case HelloAnswer::Action::wait:
            return "wait";
        case HelloAnswer::Action::none:
            return "none";
    }
    return "none";
}

}  // namespace

json encode(const HelloAnswer& answer) {
    json out = {{"v", HelloAnswer::kVersion}, {"action", action_name(answer.action)}};
    switch (answer.action) {
        case HelloAnswer::Action::image:
            if (answer.job) out["job"] = encode(*answer.job);
            break;
        case HelloAnswer::Action::wait:
            if (answer.retry_after_ms) out["retry_after_ms"] = answer.retry_after_ms;
            break;
        case HelloAnswer::Action::none:
            if (!answer.reason.empty()) out["reason"] = answer.reason;
            break;
    }
    return out;
}

template <>
Result<HelloAnswer> decode<HelloAnswer>(const json& message) {
    Reader r(HelloAnswer::kName, message);
    HelloAnswer answer;
    r.version(HelloAnswer::kVersion);
    std::string action;
    r.string("action", action, Need::required);
    if (!r.ok()) return r.status();
    if (action == "image") {
        answer.action = HelloAnswer::Action::image;
        json job;
        r.object("job", job, Need::required);
        if (!r.ok()) return r.status();
        auto decoded = decode<Job>(job);
        if (!decoded) return decoded.status().context(HelloAnswer::kName);
        answer.job = std::move(*decoded);
    } else if (action == "wait") {
        answer.action = HelloAnswer::Action::wait;
        r.unsigned_integer("retry_after_ms", answer.retry_after_ms, Need::optional);
    } else if (action == "none") {
        answer.action = HelloAnswer::Action::none;
        r.string("reason", answer.reason, Need::optional);
    } else {
        r.fail("action", "must be image, wait or none, not \"" + action + "\"");
    }
    return detail::finish(r, std::move(answer));
}

}  // namespace provisioner::wire
