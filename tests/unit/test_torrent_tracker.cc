// The tracker: rack preference, compact peers (BEP 23), expiry, stop, refusals; over HTTP too.
#include <doctest/doctest.h>

#include <libtorrent/bdecode.hpp>

#include "imaging/http/client.h"
#include "imaging/http/query.h"
#include "imaging/torrent/tracker.h"
#include "imaging/torrent/tracker_http.h"
#include "imaging/torrent/tracker_server.h"

namespace {

using namespace imaging::torrent;
namespace ip = boost::asio::ip;

const std::string kHash(20, 'h');

AnnounceRequest req(const std::string& addr, std::uint16_t port, std::uint64_t left = 100) {
    AnnounceRequest r;
    r.info_hash = kHash;
    r.peer_id = std::string(20, static_cast<char>('a' + port % 26));
    r.ip = ip::make_address(addr);
    r.port = port;
    r.left = left;
    return r;
}


}  // namespace

TEST_CASE("tracker: peers of the requester's rack come first, itself excluded") {
    RackMap racks;
    REQUIRE(racks.add("10.1.0.0/16", "rack-a"));
    REQUIRE(racks.add("10.2.0.0/16", "rack-b"));
    Tracker t({}, racks);
    for (int i = 1; i <= 5; ++i) t.announce(req("10.2.0." + std::to_string(i), 7000));
    for (int i = 1; i <= 3; ++i) t.announce(req("10.1.5." + std::to_string(i), 7000));
    auto r = t.announce(req("10.1.9.9", 7000));
    REQUIRE(r.failure.empty());
    REQUIRE(r.peers.size() == 8);
    for (int i = 0; i < 3; ++i) CHECK(racks.rack_of(r.peers[i].address()) == "rack-a");
    for (int i = 3; i < 8; ++i) CHECK(racks.rack_of(r.peers[i].address()) == "rack-b");
    CHECK(r.incomplete == 9);

    auto few = req("10.2.0.9", 7000);
    few.numwant = 4;
    auto r2 = t.announce(few);
    REQUIRE(r2.peers.size() == 4);
    for (const auto& p : r2.peers) CHECK(racks.rack_of(p.address()) == "rack-b");
}

TEST_CASE("tracker: without a rack map the /24 is the rack; seeds get no seeds") {
    Tracker t;
    t.announce(req("192.168.7.10", 1, 0));   // seed, other subnet
    t.announce(req("10.0.0.2", 2));           // downloader, same /24 as the requester
    t.announce(req("10.0.1.2", 3));           // downloader, other /24
    auto r = t.announce(req("10.0.0.3", 4));
    REQUIRE(r.peers.size() == 3);
    CHECK(r.peers[0] == ip::tcp::endpoint(ip::make_address("10.0.0.2"), 2));
    CHECK(r.complete == 1);
    auto seed = t.announce(req("192.168.7.11", 5, 0));
    for (const auto& p : seed.peers) CHECK(p.address().to_string() != "192.168.7.10");
    CHECK(seed.peers.size() == 3);
}

TEST_CASE("tracker: stopped peers leave; silent ones expire after two intervals") {
    base::FakeClock clock;
    TrackerOptions options;
    options.interval = std::chrono::seconds(30);
    Tracker t(options, {}, clock);
    t.announce(req("10.0.0.1", 1));
    t.announce(req("10.0.0.2", 2));
    CHECK(t.peer_count(kHash) == 2);
    auto stop = req("10.0.0.1", 1);
    stop.event = "stopped";
    t.announce(stop);
    CHECK(t.peer_count(kHash) == 1);
    clock.advance(std::chrono::seconds(61));
    CHECK(t.peer_count(kHash) == 0);
}

TEST_CASE("tracker: unknown torrents and bad requests are refused") {
    TrackerOptions options;
    options.allowed = {kHash};
    Tracker t(options);
    auto other = req("10.0.0.1", 1);
    other.info_hash = std::string(20, 'x');
    CHECK(t.announce(other).failure == "unknown torrent");
    auto no_port = req("10.0.0.1", 0);
    CHECK(!t.announce(no_port).failure.empty());

    auto q = imaging::http::parse_query("/announce?info_hash=short&peer_id=12345678901234567890&port=1");
    REQUIRE(q);
    CHECK(!parse_announce(*q, ip::make_address("10.0.0.1")));
    auto bad_event = imaging::http::parse_query(
        "/announce?info_hash=" + imaging::http::percent_encode(kHash) +
        "&peer_id=12345678901234567890&port=1&event=explode");
    REQUIRE(bad_event);
    CHECK(!parse_announce(*bad_event, ip::make_address("10.0.0.1")));
}

TEST_CASE("tracker: compact reply is valid bencode with 6-byte IPv4 and 18-byte IPv6 peers") {
    AnnounceReply r;
    r.interval = 30;
    r.peers = {ip::tcp::endpoint(ip::make_address("10.0.0.1"), 0x1a2b),
               ip::tcp::endpoint(ip::make_address("fd00::1"), 80)};
    std::string encoded = bencode_reply(r);
    lt::error_code ec;
    auto node = lt::bdecode(lt::span<const char>(encoded.data(), static_cast<long>(encoded.size())), ec);
    REQUIRE(!ec);
    CHECK(node.dict_find_int_value("interval") == 30);
    auto peers = node.dict_find_string_value("peers");
    REQUIRE(peers.size() == 6);
    CHECK(std::string(peers.data(), 6) == std::string("\x0a\x00\x00\x01\x1a\x2b", 6));
    CHECK(node.dict_find_string_value("peers6").size() == 18);

    AnnounceReply refused;
    refused.failure = "nope";
    CHECK(bencode_reply(refused) == "d14:failure reason4:nopee");
}

TEST_CASE("tracker: GET /announce over the HTTP server answers with the swarm") {
    auto tracker = std::make_shared<Tracker>();
    auto server = TrackerServer::start("127.0.0.1:0", tracker, {});
    REQUIRE(server);
    tracker->announce(req("127.0.0.1", 4000));
    std::string url = (*server)->base_url() + "/announce?info_hash=" +
                      imaging::http::percent_encode(kHash) +
                      "&peer_id=-IR0100-aaaaaaaaaaaa&port=5000&left=10&event=started&compact=1";
    auto got = imaging::http::http_get(url, std::chrono::seconds(5), 1 << 16);
    REQUIRE(got.ok);
    lt::error_code ec;
    auto node = lt::bdecode(lt::span<const char>(got.body.data(), static_cast<long>(got.body.size())), ec);
    REQUIRE(!ec);
    CHECK(node.dict_find_string_value("failure reason").empty());
    CHECK(node.dict_find_string_value("peers").size() == 6);
    CHECK(tracker->peer_count(kHash) == 2);
    auto bad = imaging::http::http_get((*server)->base_url() + "/announce?port=1",
                                       std::chrono::seconds(5), 1 << 16);
    REQUIRE(bad.ok);
    CHECK(bad.body.find("failure reason") != std::string::npos);
}
