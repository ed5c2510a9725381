// Seeding an image directory: the server side of the swarm. The pack is hash-checked against
// the torrent first (a pack that does not match is an error, not a silent non-seed).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "imaging/status.h"
#include "imaging/torrent/lan_settings.h"

namespace imaging::torrent {

struct SeedOptions {
    std::filesystem::path image_dir;
    std::vector<char> torrent;  // of this image (make_image_torrent)
    SessionOptions session{.fingerprint = kSeedFingerprint};
    // The seed's certificate and key (PEM) for a torrent with a CA (ssl_peers.h); "" otherwise.
    std::string peer_pem;
    // Super-seeding by offers (offering.h): each host is offered only pieces no other host
    // holds, so the seed uploads about one copy in all.
    bool super_seed = false;
    // Stop once every piece is held by at least one connected peer: the rack finishes from
    // itself and the server's uplink is free.
    bool leave_when_distributed = false;
    std::function<bool()> should_stop;           // polled a few times a second
    std::function<void(const std::string&)> log;  // one-line status messages
};

struct SeedReport {
    std::uint64_t bytes_uploaded = 0;  // payload
    double seconds = 0;
    double stopped_unix_time = 0;  // when it stopped serving (before the session's teardown)
    std::string reason;  // "stopped" or "distributed"
    int peers_seen = 0;
};

Result<SeedReport> run_seed(const SeedOptions& options);

}  // namespace imaging::torrent
