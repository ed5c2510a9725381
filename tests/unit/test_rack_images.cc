// A rack server filling its image cache (provisioner/server/rack_images.h) from a store shared
// with the deployment's owner: what it fetches (the image of a running deployment another server
// owns with a host in a rack it serves), what it leaves (its own deployments, other racks'),
// where from (the owner's published source, image_peers.h), and its retries on a FakeClock.
#include <doctest/doctest.h>

#include <algorithm>

#include "image_peers.h"
#include "imaging/delivery.h"
#include "imaging/pack.h"
#include "imaging/secret.h"
#include "imaging/torrent/image_torrent.h"
#include "lease_keeper.h"
#include "rack_image_cache.h"
#include "rack_images.h"
#include "server.h"
#include "swarm_credentials.h"
#include "test_delta_server.h"
#include "test_server_fixture.h"
#include "test_util.h"

using namespace servertest;
using deltatest::RunningServer;

namespace {

constexpr std::uint32_t kRackImageChunk = 64 * 1024;
const std::string kRackImagesSealKey = "the site key's text";

struct RackRig {
    Server server;
    base::FakeClock clock;
    imaging::Secret secret = *imaging::random_secret();
    Image image;
    std::unique_ptr<RackImageCache> cache;
    ImagePeers owner{*server.store, "pvA", kRackImagesSealKey, [](const std::string&) {}};
    ImagePeers peers{*server.store, "pvB", kRackImagesSealKey,
                     [this](const std::string& l) { log.push_back(l); }};
    std::vector<std::string> log;
    std::vector<Image> served;
    std::vector<Orchestrator::RackMulticast> multicast;
    std::vector<Orchestrator::RackTorrent> torrents;
    std::unique_ptr<RackImages> rack;

    RackRig() {
        const auto dir = server.dir.path();
        testutil::write_file(dir / "raw", testutil::sample_image(6, kRackImageChunk, 3));
        auto key = imaging::SigningKey::load(dir / "site.key");
        REQUIRE(key);
        imaging::PackOptions po;
        po.chunk_size = kRackImageChunk;
        po.level = 3;
        po.name = "dom0";
        auto m = imaging::pack_image(dir / "raw", dir / "dom0-1", *key, po);
        REQUIRE(m);
        Image i;
        i.name = "dom0";
        i.version = "1";
        i.image_sha256 = imaging::to_hex(m->image_sha256);
        i.manifest_sha256 = std::string(64, 'a');
        i.raw_size = m->raw_size;
        i.stored_size = m->pack_size;
        i.path = (dir / "dom0-1").string();
        auto added = server.store->add_image(i);
        REQUIRE_MESSAGE(added, added.status().message());
        image = *added;
        auto opened = RackImageCache::open(
            {dir / "image-cache", 1ull << 30, dir / "site.pub", std::chrono::seconds(5)}, clock);
        REQUIRE(opened);
        cache = std::move(*opened);
        rack = std::make_unique<RackImages>(
            *server.store, *cache, peers, "pvB", [] { return std::set<std::string>{"r2"}; },
            [this](const std::vector<Image>& images,
                   const std::vector<Orchestrator::RackMulticast>& sessions,
                   const std::vector<Orchestrator::RackTorrent>& seeds) {
                served = images;
                multicast = sessions;
                torrents = seeds;
            },
            clock, [this](const std::string& l) { log.push_back(l); });
    }
    Host host(const std::string& name, const std::string& rack_name, int n) {
        auto h = server.store->add_host(
            {*Mac::parse("52:54:00:00:01:0" + std::to_string(n)), name, "", rack_name},
            HostState::enrolled, "test");
        REQUIRE(h);
        return *h;
    }
    DeploymentId deploy(const std::vector<HostId>& hosts, const std::string& owner,
                        Transport transport = Transport::delta) {
        auto d = server.store->create_deployment(image.id, transport, hosts);
        REQUIRE(d);
        const Timestamp now = server.store->now();
        REQUIRE(server.store->acquire_lease(deployment_lease(d->id), owner, now, now + 60000));
        return d->id;
    }
    void owner_serves(const RunningServer& delta) {
        owner.publish(
            {{image.id,
              {"", delta.address(), "peers", imaging::receiver_key(secret, "peers"), secret}}});
    }
    std::size_t logged(const std::string& part) const {
        return std::size_t(std::count_if(log.begin(), log.end(), [&](const std::string& l) {
            return l.find(part) != std::string::npos;
        }));
    }
};

}  // namespace

TEST_CASE(
    "rack images: a rack server fetches the image of another server's deployment in its rack") {
    RackRig rig;
    RunningServer delta(RunningServer::options(rig.server.dir.path() / "dom0-1", rig.secret));
    const Host other_rack = rig.host("h1", "r1", 1), mine = rig.host("h2", "r2", 2);

    // Another rack's deployment, and one this server owns: nothing to fetch.
    rig.deploy({other_rack.id}, "pvA");
    rig.owner_serves(delta);
    rig.rack->tick();
    CHECK_FALSE(rig.cache->has(rig.image));
    rig.deploy({mine.id}, "pvB");
    rig.rack->tick();
    CHECK_FALSE(rig.cache->has(rig.image));
    CHECK(rig.served.empty());

    rig.deploy({mine.id}, "pvA");
    rig.rack->tick();
    REQUIRE(rig.cache->has(rig.image));
    CHECK(rig.logged("rack image cache: dom0@1 fetched from pvA (" + delta.address() +
                     ") by delta: 4 of 4 chunks") == 1);
    REQUIRE(rig.served.size() == 1);  // and its copy is served to the rack
    CHECK(rig.served[0].id == rig.image.id);
    auto events = rig.server.store->list_events({});
    REQUIRE(events);
    CHECK(std::any_of(events->begin(), events->end(), [](const Event& e) {
        return e.reason.find("fetched from pvA") != std::string::npos;
    }));
    rig.rack->tick();  // held: no second fetch
    CHECK(rig.logged("fetched from pvA") == 1);
}

TEST_CASE(
    "rack images: no source yet waits silently; a failing one is retried after 2 s, then 4 s") {
    RackRig rig;
    const Host mine = rig.host("h2", "r2", 2);
    rig.deploy({mine.id}, "pvA");
    rig.rack->tick();  // the owner publishes nothing yet
    CHECK(rig.log.empty());
    CHECK_FALSE(rig.cache->has(rig.image));

    // A source that does not answer (a port nothing listens on).
    boost::asio::io_context ioc;
    std::string dead;
    {
        boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
        dead = "127.0.0.1:" + std::to_string(a.local_endpoint().port());
    }
    rig.owner.publish(
        {{rig.image.id,
          {"", dead, "peers", imaging::receiver_key(rig.secret, "peers"), rig.secret}}});
    rig.rack->tick();
    CHECK(rig.logged("not fetched") == 1);
    CHECK(rig.logged("again in 2 s") == 1);
    rig.clock.advance(std::chrono::milliseconds(1999));
    rig.rack->tick();
    CHECK(rig.logged("not fetched") == 1);
    rig.clock.advance(std::chrono::milliseconds(1));
    rig.rack->tick();
    CHECK(rig.logged("again in 4 s") == 1);

    RunningServer delta(RunningServer::options(rig.server.dir.path() / "dom0-1", rig.secret));
    rig.owner_serves(delta);
    rig.clock.advance(std::chrono::seconds(4));
    rig.rack->tick();
    CHECK(rig.cache->has(rig.image));
}

TEST_CASE(
    "rack images: a multicast deployment's image is cached too, and multicast to the rack's "
    "unfinished hosts") {
    RackRig rig;
    RunningServer delta(RunningServer::options(rig.server.dir.path() / "dom0-1", rig.secret));
    const Host h1 = rig.host("h1", "r1", 1), h2 = rig.host("h2", "r2", 2),
               h3 = rig.host("h3", "r2", 3);
    const DeploymentId d = rig.deploy({h1.id, h2.id, h3.id}, "pvA", Transport::multicast);
    rig.rack->tick();  // the owner's delta server is not published yet: nothing, no session
    CHECK_FALSE(rig.cache->has(rig.image));
    CHECK(rig.multicast.empty());
    rig.owner_serves(delta);
    rig.rack->tick();
    REQUIRE(rig.cache->has(rig.image));
    CHECK(rig.logged("rack image cache: dom0@1 fetched from pvA") == 1);
    REQUIRE(rig.multicast.size() == 1);
    CHECK(rig.multicast[0].deployment == d);
    CHECK(rig.multicast[0].image.id == rig.image.id);
    CHECK(rig.multicast[0].hosts == std::set<HostId>{h2.id, h3.id});  // h1 is another rack's

    // h2 done: one left; both done: no session (the copy stays while the deployment runs).
    auto targets = rig.server.store->list_targets(d);
    REQUIRE(targets);
    for (DeploymentTarget t : *targets)
        if (t.host == h2.id) {
            t.state = TargetState::succeeded;
            REQUIRE(rig.server.store->update_target(t));
        }
    rig.rack->tick();
    REQUIRE(rig.multicast.size() == 1);
    CHECK(rig.multicast[0].hosts == std::set<HostId>{h3.id});
    for (DeploymentTarget t : *targets)
        if (t.host == h3.id) {
            t.state = TargetState::failed;
            REQUIRE(rig.server.store->update_target(t));
        }
    rig.rack->tick();
    CHECK(rig.multicast.empty());
    CHECK(rig.served.size() == 1);

    // A delta deployment never gets a multicast session.
    RackRig other;
    RunningServer delta2(RunningServer::options(other.server.dir.path() / "dom0-1", other.secret));
    const Host h = other.host("h2", "r2", 2);
    other.deploy({h.id}, "pvA", Transport::delta);
    other.owner_serves(delta2);
    other.rack->tick();
    CHECK(other.cache->has(other.image));
    CHECK(other.multicast.empty());
}

TEST_CASE(
    "rack images: a torrent deployment's copy is seeded in the rack once the owner offers its "
    "rack's certificate") {
    RackRig rig;
    RunningServer delta(RunningServer::options(rig.server.dir.path() / "dom0-1", rig.secret));
    const Host h1 = rig.host("h1", "r1", 1), h2 = rig.host("h2", "r2", 2),
               h3 = rig.host("h3", "r2", 3);
    const DeploymentId d = rig.deploy({h1.id, h2.id, h3.id}, "pvA", Transport::torrent);
    rig.owner_serves(delta);
    rig.rack->tick();
    REQUIRE(rig.cache->has(rig.image));
    CHECK(rig.torrents.empty());  // cached, but nothing offered yet
    auto swarm = make_swarm_credentials("deployment of dom0@1", {h1, h2, h3});
    REQUIRE(swarm);
    auto bytes = imaging::torrent::make_image_torrent(
        rig.server.dir.path() / "dom0-1",
        {.trackers = {"http://127.0.0.1:1/announce"}, .ca_cert_pem = swarm->ca_cert_pem});
    REQUIRE(bytes);
    auto torrent = imaging::torrent::load_image_torrent_unverified(*bytes);
    REQUIRE(torrent);
    RackTorrentOffer offer;
    offer.info_hash_hex = torrent->info_hash_hex();
    offer.torrent.assign(bytes->begin(), bytes->end());
    offer.racks.emplace("r1", swarm->racks.at("r1"));  // not this server's rack
    rig.owner.publish_torrents({{d, offer}});
    rig.rack->tick();
    CHECK(rig.torrents.empty());
    offer.racks.emplace("r2", swarm->racks.at("r2"));
    rig.owner.publish_torrents({{d, offer}});
    rig.rack->tick();
    REQUIRE(rig.torrents.size() == 1);
    CHECK(rig.torrents[0].deployment == d);
    CHECK(rig.torrents[0].image.id == rig.image.id);
    CHECK(rig.torrents[0].hosts == std::set<HostId>{h2.id, h3.id});
    CHECK(rig.torrents[0].racks == std::set<std::string>{"r2"});
    CHECK(rig.torrents[0].offer.racks.at("r2").cert_pem == swarm->racks.at("r2").cert_pem);
    CHECK(rig.multicast.empty());
    // The owner no longer offers it (its deployment ended, or another server took it over).
    rig.owner.publish_torrents({});
    rig.rack->tick();
    CHECK(rig.torrents.empty());
}

TEST_CASE("rack images: multicast sessions published sealed, read back only with the site key") {
    RackRig rig;
    MulticastSource m;
    m.group = "239.255.42.3";
    m.port = 7702;
    m.secret = *imaging::random_secret();
    m.receipt_master = *imaging::random_secret();
    rig.peers.publish_multicast({{7, m}});
    auto read = rig.owner.multicast_of("pvB");
    REQUIRE(read.size() == 1);
    CHECK(read.at(7).server == "pvB");
    CHECK(read.at(7).group == m.group);
    CHECK(read.at(7).port == 7702);
    CHECK(read.at(7).secret == m.secret);
    CHECK(read.at(7).receipt_master == m.receipt_master);
    auto value = rig.server.store->get_setting(std::string(ImagePeers::kMulticastPrefix) + "pvB");
    REQUIRE(value);
    CHECK(value->find(imaging::secret_to_hex(m.secret)) == std::string::npos);  // never in clear
    CHECK(value->find(imaging::secret_to_hex(m.receipt_master)) == std::string::npos);
    // Another site's key, another server's name or a moved session: none opens.
    CHECK_FALSE(decode_multicast_sources("another key", "pvB", *value));
    CHECK_FALSE(decode_multicast_sources(kRackImagesSealKey, "pvC", *value));
    std::string moved = *value;
    moved.replace(moved.find("7702"), 4, "7703");
    CHECK_FALSE(decode_multicast_sources(kRackImagesSealKey, "pvB", moved));
    for (const char* bad : {"", "[]", "{\"sessions\": 1}", "{\"sessions\": {\"x\": {}}}",
                            "{\"sessions\": {\"7\": {\"group\": \"g\", \"port\": 70000}}}"})
        CHECK_FALSE(decode_multicast_sources(kRackImagesSealKey, "pvB", bad));
    // Withdrawn: nothing to read.
    rig.peers.publish_multicast({});
    CHECK(rig.owner.multicast_of("pvB").empty());
}
