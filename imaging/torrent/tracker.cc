#include "imaging/torrent/tracker.h"

#include <algorithm>
#include <random>

namespace imaging::torrent {

Tracker::Tracker(TrackerOptions options, RackMap racks, base::Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      racks_(std::move(racks)),
      allowed_(options_.allowed) {}

void Tracker::set_racks(RackMap racks, RackSeeds seeds) {
    RackSeeds normalized;
    for (auto& [address, of] : seeds) normalized[normalize(address)].merge(of);
    std::lock_guard lock(mu_);
    racks_ = std::move(racks);
    rack_seeds_ = std::move(normalized);
    for (auto& [_, swarm] : swarms_)
        for (auto& [endpoint, peer] : swarm) place_locked(peer, endpoint.address());
}

void Tracker::place_locked(Peer& peer, const boost::asio::ip::address& address) const {
    auto seeding = rack_seeds_.find(address);
    peer.rack_seed = seeding != rack_seeds_.end();
    if (peer.rack_seed)
        peer.racks = seeding->second;
    else
        peer.racks = {racks_.rack_of(address)};
}

void Tracker::allow(const std::string& info_hash) {
    std::lock_guard lock(mu_);
    allowed_.insert(info_hash);
}

void Tracker::forget(const std::string& info_hash) {
    std::lock_guard lock(mu_);
    allowed_.erase(info_hash);
    swarms_.erase(info_hash);
}

void Tracker::expire_locked(Swarm& swarm, std::chrono::steady_clock::time_point now) {
    auto deadline = options_.expire_intervals * options_.interval;
    std::erase_if(swarm, [&](const auto& kv) { return now - kv.second.last_seen > deadline; });
}

void Tracker::expire_all_locked(std::chrono::steady_clock::time_point now) {
    for (auto it = swarms_.begin(); it != swarms_.end();) {
        expire_locked(it->second, now);
        it = it->second.empty() ? swarms_.erase(it) : std::next(it);
    }
}

std::string Tracker::admit_locked(const Swarm& swarm, const boost::asio::ip::tcp::endpoint& self) const {
    if (swarm.count(self)) return {};  // known peers announce again freely
    if (swarm.size() >= options_.max_peers_per_torrent) return "torrent full";
    std::size_t same_address = 0;
    for (const auto& [ep, peer] : swarm) same_address += ep.address() == self.address();
    if (same_address >= options_.max_peers_per_address) return "too many peers from " + self.address().to_string();
    return {};
}

std::size_t Tracker::peer_count(const std::string& info_hash) {
    std::lock_guard lock(mu_);
    auto it = swarms_.find(info_hash);
    if (it == swarms_.end()) return 0;
    expire_locked(it->second, clock_.now());
    return it->second.size();
}

AnnounceReply Tracker::announce(const AnnounceRequest& req) {
    AnnounceReply reply;
    if (req.info_hash.size() != 20) {
        reply.failure = "info_hash must be 20 bytes";
        return reply;
    }
    if (req.port == 0) {
        reply.failure = "port missing or 0";
        return reply;
    }
    auto now = clock_.now();
    boost::asio::ip::tcp::endpoint self(normalize(req.ip), req.port);
    std::vector<Peer> rack_seeds, same_rack, other_racks;
    {
        std::lock_guard lock(mu_);
        Peer placed;
        place_locked(placed, self.address());
        const std::set<std::string>& racks = placed.racks;
        if (!allowed_.empty() && !allowed_.count(req.info_hash)) {
            reply.failure = "unknown torrent";
            return reply;
        }
        if (!swarms_.count(req.info_hash)) {
            if (req.event == "stopped") return reply;  // nothing to leave
            expire_all_locked(now);
            if (allowed_.empty() && swarms_.size() >= options_.max_open_torrents) {
                reply.failure = "too many torrents";
                return reply;
            }
        }
        Swarm& swarm = swarms_[req.info_hash];
        expire_locked(swarm, now);
        if (req.event == "stopped") {
            swarm.erase(self);
        } else if (reply.failure = admit_locked(swarm, self); !reply.failure.empty()) {
            if (swarm.empty()) swarms_.erase(req.info_hash);
            return reply;
        } else {
            Peer& p = swarm[self];
            p.peer_id = req.peer_id;
            p.endpoint = self;
            p.racks = placed.racks;
            p.rack_seed = placed.rack_seed;
            p.seed = req.left == 0;
            p.last_seen = now;
        }
        for (const auto& [ep, peer] : swarm) {
            (peer.seed ? reply.complete : reply.incomplete) += 1;
            if (ep == self) continue;
            // A seed has nothing to gain from another seed.
            if (req.left == 0 && peer.seed) continue;
            const bool shares_rack = std::any_of(peer.racks.begin(), peer.racks.end(),
                                                 [&](const auto& r) { return racks.contains(r); });
            (!shares_rack ? other_racks : peer.rack_seed ? rack_seeds : same_rack).push_back(peer);
        }
        ++shuffle_seed_;
    }
    // Shuffled within each group so that a rack's peers do not all pick the same few.
    std::mt19937_64 rng(shuffle_seed_ ^ std::hash<std::string>{}(req.peer_id));
    std::shuffle(rack_seeds.begin(), rack_seeds.end(), rng);
    std::shuffle(same_rack.begin(), same_rack.end(), rng);
    std::shuffle(other_racks.begin(), other_racks.end(), rng);

    int want = std::clamp(req.numwant, 0, options_.max_numwant);
    for (const auto* group : {&rack_seeds, &same_rack, &other_racks}) {
        for (const auto& p : *group) {
            if (static_cast<int>(reply.peers.size()) >= want) break;
            reply.peers.push_back(p.endpoint);
        }
    }
    reply.interval = static_cast<int>(options_.interval.count());
    reply.min_interval = static_cast<int>(options_.min_interval.count());
    return reply;
}

}  // namespace imaging::torrent
