// The tracker against hostile announcers: only registered info-hashes, bounded swarms, silent
// peers pruned (under a fake clock).
#include <doctest/doctest.h>

#include "imaging/http/query.h"
#include "imaging/torrent/tracker.h"
#include "imaging/torrent/tracker_http.h"

namespace {

using namespace imaging::torrent;
namespace ip = boost::asio::ip;

const std::string kOwn(20, 'o');
const std::string kStranger(20, 's');

AnnounceRequest announce(const std::string& hash, const std::string& addr, std::uint16_t port) {
    AnnounceRequest r;
    r.info_hash = hash;
    r.peer_id = std::string(20, 'p');
    r.ip = ip::make_address(addr);
    r.port = port;
    r.left = 100;
    return r;
}


}  // namespace

TEST_SUITE("tracker bounds") {

TEST_CASE("a tracker with registered torrents refuses any other info-hash, as a bencoded failure") {
    Tracker t;
    t.allow(kOwn);
    CHECK(t.announce(announce(kOwn, "10.0.0.1", 6881)).failure.empty());
    auto refused = t.announce(announce(kStranger, "10.0.0.1", 6881));
    CHECK(refused.failure == "unknown torrent");
    CHECK(bencode_reply(refused) == "d14:failure reason15:unknown torrente");
    CHECK(t.peer_count(kStranger) == 0);

    // A finished deployment's torrent is forgotten: refused, and its swarm gone.
    t.allow(kStranger);
    t.forget(kOwn);
    CHECK(t.peer_count(kOwn) == 0);
    CHECK(t.announce(announce(kOwn, "10.0.0.1", 6881)).failure == "unknown torrent");
    CHECK(t.announce(announce(kStranger, "10.0.0.1", 6881)).failure.empty());
}

TEST_CASE("a peer that stops announcing is pruned after a few intervals; one that keeps on stays") {
    base::FakeClock clock;
    TrackerOptions options;
    options.interval = std::chrono::seconds(30);
    options.expire_intervals = 3;
    options.allowed = {kOwn};
    Tracker t(options, {}, clock);
    t.announce(announce(kOwn, "10.0.0.1", 6881));  // goes silent
    t.announce(announce(kOwn, "10.0.0.2", 6881));  // keeps announcing
    for (int k = 0; k < 3; ++k) {
        clock.advance(std::chrono::seconds(30));
        auto r = t.announce(announce(kOwn, "10.0.0.2", 6881));
        REQUIRE(r.failure.empty());
        CHECK(r.peers.size() == 1);  // the silent one is still within three intervals
    }
    clock.advance(std::chrono::seconds(1));
    CHECK(t.peer_count(kOwn) == 1);
    auto r = t.announce(announce(kOwn, "10.0.0.2", 6881));
    CHECK(r.peers.empty());
}

TEST_CASE("a swarm is bounded in peers, and in peers from one address") {
    TrackerOptions options;
    options.allowed = {kOwn};
    options.max_peers_per_torrent = 5;
    options.max_peers_per_address = 2;
    Tracker t(options);
    CHECK(t.announce(announce(kOwn, "10.0.0.1", 1)).failure.empty());
    CHECK(t.announce(announce(kOwn, "10.0.0.1", 2)).failure.empty());
    CHECK(t.announce(announce(kOwn, "10.0.0.1", 3)).failure == "too many peers from 10.0.0.1");
    CHECK(t.announce(announce(kOwn, "10.0.0.1", 2)).failure.empty());  // a known peer again
    for (int i = 2; i <= 4; ++i)
        CHECK(t.announce(announce(kOwn, "10.0.0." + std::to_string(i), 1)).failure.empty());
    CHECK(t.announce(announce(kOwn, "10.0.0.9", 1)).failure == "torrent full");
    CHECK(t.peer_count(kOwn) == 5);
    auto stop = announce(kOwn, "10.0.0.2", 1);
    stop.event = "stopped";
    t.announce(stop);
    CHECK(t.announce(announce(kOwn, "10.0.0.9", 1)).failure.empty());
}

TEST_CASE("an open tracker (nothing registered) tracks a bounded number of swarms, and frees expired ones") {
    base::FakeClock clock;
    TrackerOptions options;
    options.max_open_torrents = 2;
    Tracker t(options, {}, clock);
    CHECK(t.announce(announce(std::string(20, 'a'), "10.0.0.1", 1)).failure.empty());
    CHECK(t.announce(announce(std::string(20, 'b'), "10.0.0.1", 1)).failure.empty());
    CHECK(t.announce(announce(std::string(20, 'c'), "10.0.0.1", 1)).failure == "too many torrents");
    clock.advance(options.expire_intervals * options.interval + std::chrono::seconds(1));
    CHECK(t.announce(announce(std::string(20, 'c'), "10.0.0.1", 1)).failure.empty());
}

}  // TEST_SUITE
