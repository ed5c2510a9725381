// POST /api/v1/agent/hello and its answer, which carries the imaging job (API.md, "Agent
// endpoints"). The rules every message keeps are in codec.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "provisioner/wire/codec.h"

namespace provisioner::wire {

// {"v", "mac", "mode"?, "facts"?}. mode absent reads as "image"; facts is the agent's
// description of its machine (API.md "facts"), kept as it is.
struct Hello {
    static constexpr const char* kName = "hello";
    static constexpr int kVersion = 1;
    std::string mac;             // required; the receiver checks its form
    std::string mode = "image";  // "image" or "discover"
    nlohmann::json facts;        // an object, or null when absent
    bool operator==(const Hello&) const = default;
};

enum class Transport { delta, multicast, torrent };
const char* to_string(Transport transport);

// {"v", "deployment", "transport", "image": {"id"?, "name", "version"?, "raw_size"?,
// "stored_size"?, "image_sha256"}, "pubkey", "disk"?, "host"?, "token"?, "dom0_token"?,
// "secret"?, "receiver_id"?, "receipt_key"?, and the transport's object: "delta": {"from"} |
// "multicast": {"group", "port"} | "torrent": {"url"}}. Required: deployment, transport,
// image.name, image.image_sha256 (64 hex digits: the image is pinned), pubkey and the
// transport's parameters; secret and receipt_key, when present, are 64 hex digits;
// receiver_id, when present, is a receiver id (imaging/delivery.h).
struct Job {
    static constexpr const char* kName = "job";
    static constexpr int kVersion = 1;
    std::int64_t deployment = 0;
    Transport transport = Transport::delta;
    std::int64_t image_id = 0;
    std::string image_name, image_version;
    std::uint64_t raw_size = 0, stored_size = 0;
    std::string image_sha256;
    std::string pubkey_pem;
    std::string disk;             // "" lets the agent choose
    std::string host;             // the inventory's name, for the agent's log
    std::string token;            // the deployment's token, for progress and result ("": keep ours)
    std::string dom0_token;       // for the imaged system's agent ("": ours)
    std::string secret;           // delta and multicast: 64 hex digits; "": unauthenticated
    // Proof of receipt (imaging/delivery.h): the id this host's receiver proves to its sender
    // once the image is verified. Delta: secret is then this receiver's own key; multicast:
    // receipt_key is, beside the session's secret.
    std::string receiver_id;
    std::string receipt_key;
    std::string delta_from;       // delta: ADDR:PORT of the server's imaging serve
    std::string multicast_group;  // multicast
    std::uint16_t multicast_port = 0;
    std::string torrent_url;  // torrent
    // torrent, "torrent": {"url", "peer_cert"?}: this host's certificate and private key (PEM,
    // one text), signed by the CA the deployment's torrent carries; "": an open swarm.
    std::string torrent_peer_cert;
    bool operator==(const Job&) const = default;
};

// {"v", "action": "image", "job": Job} | {"v", "action": "wait", "retry_after_ms"?} |
// {"v", "action": "none", "reason"?}.
struct HelloAnswer {
    static constexpr const char* kName = "hello answer";
    static constexpr int kVersion = 1;
    enum class Action { image, wait, none };
    Action action = Action::none;
    std::optional<Job> job;            // image: required
    std::uint64_t retry_after_ms = 0;  // wait: 0 when absent (the agent picks)
    std::string reason;                // none
    bool operator==(const HelloAnswer&) const = default;
};

nlohmann::json encode(const Hello& hello);
nlohmann::json encode(const Job& job);
nlohmann::json encode(const HelloAnswer& answer);
template <>
Result<Hello> decode<Hello>(const nlohmann::json& message);
template <>
Result<Job> decode<Job>(const nlohmann::json& message);
template <>
Result<HelloAnswer> decode<HelloAnswer>(const nlohmann::json& message);

}  // namespace provisioner::wire
