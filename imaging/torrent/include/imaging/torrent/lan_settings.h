// libtorrent session settings for a provisioning LAN, and the session built from them.
#pragma once

#include <memory>
#include <string>

#include <libtorrent/peer_id.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/settings_pack.hpp>

namespace imaging::torrent {

// Peer-id prefixes: receivers tell the server's seed from other hosts by them, to report
// bytes_from_seed and bytes_from_peers.
inline constexpr const char* kSeedFingerprint = "-IS0100-";
inline constexpr const char* kReceiverFingerprint = "-IR0100-";

// Whether a peer's id starts with fingerprint.
bool has_fingerprint(const lt::peer_id& pid, const char* fingerprint);

struct SessionOptions {
    std::string listen = "0.0.0.0:6881";  // ADDR:PORT, as libtorrent's listen_interfaces
    // Listen with TLS (an SSL torrent's peers, ssl_peers.h) instead of in the clear.
    bool ssl = false;
    std::string fingerprint = kReceiverFingerprint;
    int upload_rate_limit = 0;  // bytes/s, 0: none
    int download_rate_limit = 0;
    // Peers served at once. A seed that serves every host at once sends the same pieces to
    // several of them before their HAVEs spread; serving a few lets the rest fetch those
    // pieces from each other.
    int upload_slots = 64;
    // The session's disk I/O; empty: pread/pwrite on files under the torrent's save path.
    // A receiver without a staging file passes memory_disk_io (memory_disk_io.h).
    lt::disk_io_constructor_type disk_io{};
};

// DHT, LSD, UPnP and NAT-PMP off (the tracker is the only peer source), TCP only (uTP's
// LEDBAT backs off for nothing on a provisioning LAN), unchoke slots and connections for a
// whole rack, several connections per IP (loopback tests run every peer on 127.0.0.1),
// announce intervals of seconds, and the alerts the imaging code reads.
lt::settings_pack lan_settings(const SessionOptions& options);

// A session with lan_settings, rate limits applying to every peer (libtorrent exempts the
// local network from them by default, which would make them no-ops on a LAN).
std::unique_ptr<lt::session> make_lan_session(const SessionOptions& options);

}  // namespace imaging::torrent
