// A BitTorrent tracker for imaging swarms (BEP 3 announce, BEP 23 compact peers, BEP 7
// peers6), in memory. It prefers peers in the requester's rack: peers of the same rack come
// first in every reply (a rack server's seed of that rack before the rest), so hosts share
// within the rack and cross the rack uplink only for what the rack lacks. Which rack an address
// is in follows set_racks() while it runs. Thread-safe; time comes from an injected clock so
// expiry is testable. What one announcer can cost is bounded: only registered info-hashes
// (TrackerOptions), a bounded swarm, and peers that stop announcing are forgotten.
//
// Torrents are v1-only (see image_torrent.h), so a swarm has one 20-byte info-hash; there is
// no v1/v2 pair to merge.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "base/clock.h"
#include "imaging/torrent/rack_map.h"

namespace imaging::torrent {

struct AnnounceRequest {
    std::string info_hash;  // 20 raw bytes
    std::string peer_id;    // 20 raw bytes
    boost::asio::ip::address ip;
    std::uint16_t port = 0;
    std::uint64_t left = 0;
    std::string event;  // "", "started", "completed", "stopped"
    int numwant = 50;
};

struct AnnounceReply {
    std::string failure;  // non-empty: the announce was refused
    int interval = 0;
    int min_interval = 0;
    int complete = 0;    // seeds in the swarm
    int incomplete = 0;  // downloaders
    std::vector<boost::asio::ip::tcp::endpoint> peers;  // same rack first
};

struct TrackerOptions {
    std::chrono::seconds interval{30};  // LAN swarms are short-lived; announce often
    std::chrono::seconds min_interval{5};
    int max_numwant = 200;
    // A peer not heard from for this many intervals is gone (crashed, or its "stopped" lost).
    int expire_intervals = 2;
    // Peers one swarm holds, and of those from one IP address (hosts run one peer per torrent;
    // tests run several on one address). A new peer over either limit is refused.
    std::size_t max_peers_per_torrent = 1024;
    std::size_t max_peers_per_address = 32;
    // The info-hashes served: the server's own torrents (also allow()); any other is refused
    // with "unknown torrent". Empty means open: any info-hash is tracked, but at most
    // max_open_torrents swarms at once. A server on a shared network registers its torrents.
    std::set<std::string> allowed;
    std::size_t max_open_torrents = 16;
};

// The seeds that rack servers run inside their racks, by address: a peer announcing from one
// of these is in each of those racks, and is told to that rack's peers before any other.
using RackSeeds = std::map<boost::asio::ip::address, std::set<std::string>>;

class Tracker {
public:
    // clock (a peer's last announce, expiry) must outlive the tracker.
    explicit Tracker(TrackerOptions options = {}, RackMap racks = {},
                     base::Clock& clock = base::real_clock());

    // Serves `info_hash` from now on; the first allow() closes an open tracker to the rest.
    void allow(const std::string& info_hash);
    // Stops serving `info_hash` (a finished deployment) and drops its swarm.
    void forget(const std::string& info_hash);
    // From now on, hosts are placed by racks and rack servers' seeds by seeds; the peers in the
    // swarms are placed again at once (a scan of every peer: call it when something changed).
    void set_racks(RackMap racks, RackSeeds seeds = {});
    AnnounceReply announce(const AnnounceRequest& request);
    // Live peers of a swarm (expired ones are not counted).
    std::size_t peer_count(const std::string& info_hash);

private:
    struct Peer {
        std::string peer_id;
        boost::asio::ip::tcp::endpoint endpoint;
        std::set<std::string> racks;
        bool rack_seed = false;  // a rack server's seed (RackSeeds)
        bool seed = false;
        std::chrono::steady_clock::time_point last_seen;
    };
    using Swarm = std::map<boost::asio::ip::tcp::endpoint, Peer>;

    void expire_locked(Swarm& swarm, std::chrono::steady_clock::time_point now);
    // Expires every swarm and drops the empty ones.
    void expire_all_locked(std::chrono::steady_clock::time_point now);
    // Its racks and whether it is a rack server's seed, from racks_ and rack_seeds_.
    void place_locked(Peer& peer, const boost::asio::ip::address& address) const;
    // Empty if a new peer `self` may join `swarm`, else why not.
    std::string admit_locked(const Swarm& swarm, const boost::asio::ip::tcp::endpoint& self) const;

    const TrackerOptions options_;
    base::Clock& clock_;
    std::mutex mu_;
    RackMap racks_;         // guarded by mu_
    RackSeeds rack_seeds_;  // guarded by mu_
    std::set<std::string> allowed_;
    std::map<std::string, Swarm> swarms_;
    std::uint64_t shuffle_seed_ = 0x9e3779b97f4a7c15ull;
};

}  // namespace imaging::torrent
