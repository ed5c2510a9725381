// BitTorrent in the rack (issue 20, item 4): a rack's seed certificate, made with the swarm's
// (swarm_credentials.h), is accepted by that swarm's torrent and refused by another's; what the
// owner publishes for rack servers (ImagePeers::publish_torrents(), sealed under the site key)
// opens only under that key and for that server, deployment, rack and info-hash; the tracker
// tells a rack's hosts their rack server's seed first, and places peers again when its racks
// change; a rack server's seed of its copy (Orchestrator::set_rack_torrents()) runs with the
// rack's certificate in a 0600 file that goes with it.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "image_peers.h"
#include "imaging/pack.h"
#include "imaging/torrent/image_torrent.h"
#include "imaging/torrent/ssl_peers.h"
#include "imaging/torrent/tracker.h"
#include "swarm_credentials.h"
#include "test_server_fixture.h"
#include "test_util.h"

using namespace servertest;
using provisioner::server::decode_rack_torrent_seeds;
using provisioner::server::decode_rack_torrents;
using provisioner::server::encode_rack_torrent_seeds;
using provisioner::server::encode_rack_torrents;
using provisioner::server::make_swarm_credentials;
using provisioner::server::RackTorrentOffer;
using provisioner::server::RackTorrentSeed;

namespace {

const std::string kRackTorrentSealKey = "the site key's text";

// A packed image, a swarm's credentials for hosts in r1 and r2 (and one in no rack), and its
// SSL torrent.
struct RackTorrentRig {
    testutil::TempDir dir;
    provisioner::server::SwarmCredentials swarm;
    std::vector<char> torrent_bytes;
    std::string info_hash_hex;
    RackTorrentRig() {
        REQUIRE(imaging::generate_keypair(dir / "k"));
        auto raw = testutil::random_bytes(3 << 16, 29);
        testutil::write_file(dir / "disk.raw", raw);
        auto key = imaging::SigningKey::load(dir / "k.key");
        REQUIRE(key);
        imaging::PackOptions options;
        options.chunk_size = 1 << 16;
        REQUIRE(imaging::pack_image(dir / "disk.raw", dir / "img", *key, options));
        std::vector<Host> hosts(3);
        for (int i = 0; i < 3; ++i) {
            hosts[i].id = i + 1;
            hosts[i].name = "h" + std::to_string(i + 1);
        }
        hosts[0].rack = "r1";
        hosts[1].rack = "r2";
        auto made = make_swarm_credentials("deployment of dom0@1", hosts);
        REQUIRE_MESSAGE(made, made.status().message());
        swarm = std::move(*made);
        auto bytes = imaging::torrent::make_image_torrent(
            dir / "img", {.trackers = {"http://127.0.0.1:1/announce"},
                          .piece_size = 16 << 10,
                          .ca_cert_pem = swarm.ca_cert_pem});
        REQUIRE(bytes);
        torrent_bytes = *bytes;
        auto t = imaging::torrent::load_image_torrent_unverified(torrent_bytes);
        REQUIRE(t);
        info_hash_hex = t->info_hash_hex();
    }
    RackTorrentOffer offer(const std::vector<std::string>& racks) const {
        RackTorrentOffer o;
        o.info_hash_hex = info_hash_hex;
        o.torrent.assign(torrent_bytes.begin(), torrent_bytes.end());
        for (const std::string& r : racks) o.racks.emplace(r, swarm.racks.at(r));
        return o;
    }
};

// The published value with field renamed (a key of "torrents", or a rack of deployment 7).
std::string rack_torrent_value_moved(const std::string& value, const std::string& from,
                                     const std::string& to, bool rack) {
    auto doc = nlohmann::json::parse(value);
    auto& where = rack ? doc["torrents"]["7"]["racks"] : doc["torrents"];
    where[to] = where[from];
    where.erase(from);
    return doc.dump();
}

imaging::torrent::AnnounceRequest rack_torrent_announce(const std::string& addr, std::uint16_t port,
                                                        std::uint64_t left) {
    imaging::torrent::AnnounceRequest r;
    r.info_hash = std::string(20, 'r');
    r.peer_id = std::string(20, char('a' + port % 26));
    r.ip = boost::asio::ip::make_address(addr);
    r.port = port;
    r.left = left;
    return r;
}

}  // namespace

TEST_CASE("rack torrent: a rack's seed certificate joins its swarm only; another CA's does not") {
    RackTorrentRig rig;
    // One per rack of the hosts, none for a host in no rack.
    REQUIRE(rig.swarm.racks.size() == 2);
    CHECK(imaging::torrent::certificate_name(rig.swarm.racks.at("r2").cert_pem) == "rack r2");
    CHECK(imaging::torrent::parse_peer_credentials(rig.swarm.racks.at("r2").pem(),
                                                   rig.swarm.ca_cert_pem));
    auto torrent = imaging::torrent::load_image_torrent_unverified(rig.torrent_bytes);
    REQUIRE(torrent);
    auto joins = imaging::torrent::peer_credentials_for(*torrent, rig.swarm.racks.at("r2").pem());
    CHECK_MESSAGE(joins, joins.status().message());

    // Another deployment's swarm (its own CA) has its own rack certificates: refused here.
    std::vector<Host> hosts(1);
    hosts[0].id = 1;
    hosts[0].name = "h1";
    hosts[0].rack = "r2";
    auto other = make_swarm_credentials("deployment of dom0@2", hosts);
    REQUIRE(other);
    CHECK_FALSE(imaging::torrent::parse_peer_credentials(other->racks.at("r2").pem(),
                                                         rig.swarm.ca_cert_pem));
    CHECK_FALSE(imaging::torrent::peer_credentials_for(*torrent, other->racks.at("r2").pem()));
}

TEST_CASE(
    "rack torrent: the owner's publication opens only under its key, server, deployment, "
    "rack and info-hash") {
    RackTorrentRig rig;
    const std::string value =
        encode_rack_torrents(kRackTorrentSealKey, "pvA", {{7, rig.offer({"r2"})}});
    CHECK(value.find("PRIVATE KEY") == std::string::npos);  // sealed, not in the clear
    auto opened = decode_rack_torrents(kRackTorrentSealKey, "pvA", value);
    REQUIRE_MESSAGE(opened, opened.status().message());
    REQUIRE(opened->size() == 1);
    const RackTorrentOffer& got = opened->at(7);
    CHECK(got.info_hash_hex == rig.info_hash_hex);
    CHECK(got.torrent == std::string(rig.torrent_bytes.begin(), rig.torrent_bytes.end()));
    REQUIRE(got.racks.size() == 1);
    CHECK(got.racks.at("r2").cert_pem == rig.swarm.racks.at("r2").cert_pem);
    CHECK(got.racks.at("r2").key_pem == rig.swarm.racks.at("r2").key_pem);

    CHECK_FALSE(decode_rack_torrents("another site's key", "pvA", value));
    CHECK_FALSE(decode_rack_torrents(kRackTorrentSealKey, "pvC", value));
    auto moved = decode_rack_torrents(kRackTorrentSealKey, "pvA",
                                      rack_torrent_value_moved(value, "7", "8", false));
    REQUIRE_FALSE(moved);
    CHECK(moved.status().message().find("does not open") != std::string::npos);
    CHECK_FALSE(decode_rack_torrents(kRackTorrentSealKey, "pvA",
                                     rack_torrent_value_moved(value, "r2", "r1", true)));
    // Another torrent under the same certificate: its info-hash is not the sealed one.
    auto doc = nlohmann::json::parse(value);
    RackTorrentRig other;
    const auto* raw = reinterpret_cast<const std::uint8_t*>(other.torrent_bytes.data());
    doc["torrents"]["7"]["torrent"] = imaging::to_hex({raw, other.torrent_bytes.size()});
    auto swapped = decode_rack_torrents(kRackTorrentSealKey, "pvA", doc.dump());
    REQUIRE_FALSE(swapped);
    CHECK(swapped.status().message().find("not " + rig.info_hash_hex) != std::string::npos);
    doc["torrents"]["7"]["info_hash"] = other.info_hash_hex;
    CHECK_FALSE(decode_rack_torrents(kRackTorrentSealKey, "pvA", doc.dump()));
    CHECK_FALSE(decode_rack_torrents(kRackTorrentSealKey, "pvA", "{\"torrents\": [1]}"));

    // The rack server's seeds: no secret, read back as written.
    const std::string seeds = encode_rack_torrent_seeds({{7, {"10.77.0.15:6931", {"r2"}}}});
    auto read = decode_rack_torrent_seeds("pvB", seeds);
    REQUIRE(read);
    CHECK(read->at(7).address == "10.77.0.15:6931");
    CHECK(read->at(7).racks == std::set<std::string>{"r2"});
    CHECK_FALSE(decode_rack_torrent_seeds("pvB", "{\"seeds\": {\"7\": {\"address\": 1}}}"));
}

TEST_CASE("rack torrent: ImagePeers publishes the owner's offers and a rack server's seeds") {
    Server s;
    RackTorrentRig rig;
    std::vector<std::string> log;
    provisioner::server::ImagePeers a(*s.store, "pvA", kRackTorrentSealKey, {});
    provisioner::server::ImagePeers b(*s.store, "pvB", kRackTorrentSealKey,
                                      [&](const std::string& l) { log.push_back(l); });
    a.publish_torrents({{7, rig.offer({"r1", "r2"})}});
    auto offers = b.torrents_of("pvA");
    REQUIRE(offers.size() == 1);
    CHECK(offers.at(7).racks.size() == 2);
    a.publish_torrents({});  // the deployment ended
    CHECK(b.torrents_of("pvA").empty());
    b.publish_torrent_seeds({{7, {"10.77.0.15:6931", {"r2"}}}});
    CHECK(a.torrent_seeds_of("pvB").at(7).address == "10.77.0.15:6931");
    // Under another site's key nothing opens, and it says so.
    provisioner::server::ImagePeers c(*s.store, "pvC", "another key",
                                      [&](const std::string& l) { log.push_back(l); });
    c.publish_torrents({{9, rig.offer({"r2"})}});
    CHECK(b.torrents_of("pvC").empty());
    REQUIRE(log.size() == 1);
    CHECK(log[0].find("does not open") != std::string::npos);
}

TEST_CASE("rack torrent: the tracker tells a rack's hosts their rack server's seed first") {
    using imaging::torrent::RackMap;
    base::FakeClock clock;
    imaging::torrent::Tracker t({}, {}, clock);
    // Before it knows racks: one /24, every peer alike.
    t.announce(rack_torrent_announce("10.77.0.1", 6881, 0));    // the owner's seed
    t.announce(rack_torrent_announce("10.77.0.15", 6931, 0));   // the rack server's seed
    t.announce(rack_torrent_announce("10.77.0.3", 7000, 100));  // r2
    t.announce(rack_torrent_announce("10.77.0.5", 7000, 100));  // r1
    RackMap racks;
    REQUIRE(racks.add("10.77.0.3/32", "r2"));
    REQUIRE(racks.add("10.77.0.4/32", "r2"));
    REQUIRE(racks.add("10.77.0.5/32", "r1"));
    t.set_racks(racks, {{boost::asio::ip::make_address("10.77.0.15"), {"r2"}}});
    for (int i = 0; i < 10; ++i) {  // whatever the shuffle
        auto r = t.announce(rack_torrent_announce("10.77.0.4", 7001, 100));
        REQUIRE(r.failure.empty());
        REQUIRE(r.peers.size() == 4);
        CHECK(r.peers[0].address().to_string() == "10.77.0.15");  // its rack's seed
        CHECK(r.peers[1].address().to_string() == "10.77.0.3");   // its rack
    }
    // A seed that now serves no rack here is a peer like any other.
    t.set_racks(racks, {});
    bool first_seen_elsewhere = false;
    for (int i = 0; i < 10; ++i) {
        auto r = t.announce(rack_torrent_announce("10.77.0.4", 7001, 100));
        REQUIRE(r.peers.size() == 4);
        CHECK(r.peers[0].address().to_string() == "10.77.0.3");
        first_seen_elsewhere =
            first_seen_elsewhere || r.peers[1].address().to_string() != "10.77.0.15";
    }
    CHECK(first_seen_elsewhere);
}

TEST_CASE(
    "rack torrent: a rack server seeds its copy with its rack's certificate, 0600, gone "
    "with the seed") {
    Server s;
    RackTorrentRig rig;
    Image image;
    image.id = 3;
    image.name = "dom0";
    image.version = "1";
    image.path = (rig.dir / "img").string();
    provisioner::server::Orchestrator::RackTorrent w;
    w.deployment = 7;
    w.image = image;
    w.hosts = {2};
    w.racks = {"r2"};
    w.offer = rig.offer({"r2"});
    s.orchestrator->set_rack_torrents({w});
    s.orchestrator->tick();
    REQUIRE(s.launcher.spawned.size() == 1);
    const auto& argv = s.launcher.spawned[0];
    REQUIRE(argv.size() >= 10);
    CHECK(argv[1] == "seed");
    CHECK(argv[3] == image.path);
    const std::filesystem::path torrent = argv[5], cert = argv[9];
    CHECK(argv[8] == "--peer-cert");
    CHECK(cert.parent_path() == s.dir.path() / "secrets");
    struct stat st {};
    REQUIRE(::stat(cert.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto pem = imaging::torrent::read_peer_cert_file(cert);
    REQUIRE(pem);
    CHECK(imaging::torrent::certificate_name(*pem) == "rack r2");
    const auto written = testutil::read_file(torrent);
    CHECK(std::string(written.begin(), written.end()) ==
          std::string(rig.torrent_bytes.begin(), rig.torrent_bytes.end()));
    s.orchestrator->tick();
    auto seeds = s.orchestrator->rack_torrent_seeds();
    REQUIRE(seeds.size() == 1);
    CHECK(seeds.at(7).address == "127.0.0.1:" + argv[7].substr(argv[7].rfind(':') + 1));
    CHECK(seeds.at(7).racks == std::set<std::string>{"r2"});

    s.orchestrator->set_rack_torrents({w});  // named again: nothing new
    s.orchestrator->tick();
    CHECK(s.launcher.spawned.size() == 1);
    s.orchestrator->set_rack_torrents({});  // its hosts are done
    CHECK_FALSE(std::filesystem::exists(torrent));
    for (int i = 0; i < 3; ++i) s.orchestrator->tick();  // stopped, reaped, given back
    CHECK(s.launcher.signalled.size() == 1);
    CHECK_FALSE(std::filesystem::exists(cert));
    CHECK(s.orchestrator->rack_torrent_seeds().empty());
}
