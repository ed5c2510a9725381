// The answer to the agent's hello (provisioner/API.md, "Agent endpoints"): image a disk, wait
// and ask again, or nothing to do.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "imaging/status.h"

namespace provisioner::agent {

struct Job {
    std::int64_t deployment = 0;
    std::string transport;  // "delta", "multicast" or "torrent"
    std::string image_name, image_version;
    std::string image_sha256;  // hex: the receiver refuses any other image
    std::string token;       // the deployment's token, for progress and result (empty: keep ours)
    std::string dom0_token;  // for the imaged system's agent (empty: ours)
    std::uint64_t raw_size = 0, stored_size = 0;
    std::string pubkey_pem;
    std::string disk;             // "" lets the agent choose
    std::string delta_from;       // delta: ADDR:PORT of the server's imaging serve
    std::string multicast_group;  // multicast
    unsigned multicast_port = 0;
    std::string torrent_url;  // torrent
    // delta and multicast: the secret (64 hex digits) that authenticates the transport's
    // peers, handed to imaging receive in a 0600 file; empty: an unauthenticated transport.
    std::string secret;
};

struct HelloAction {
    enum class Kind { image, wait, none };
    Kind kind = Kind::none;
    Job job;                                  // image
    std::chrono::milliseconds retry_after{};  // wait
    std::string reason;                       // none
};

// Checks what the agent relies on: a known action, and for a job its deployment, a known
// transport with that transport's parameters, and a public key.
imaging::Result<HelloAction> parse_hello_answer(const nlohmann::json& answer);

}  // namespace provisioner::agent
