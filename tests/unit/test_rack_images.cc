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
#include "lease_keeper.h"
#include "rack_image_cache.h"
#include "rack_images.h"
#include "server.h"
#include "test_delta_server.h"
#include "test_server_fixture.h"
#include "test_util.h"

using namespace servertest;
using deltatest::RunningServer;

namespace {

constexpr std::uint32_t kChunk = 64 * 1024;
const std::string kSealKey = "the site key's text";

struct RackRig {
    Server server;
    base::FakeClock clock;
    imaging::Secret secret = *imaging::random_secret();
    Image image;
    std::unique_ptr<RackImageCache> cache;
    ImagePeers owner{*server.store, "pvA", kSealKey, [](const std::string&) {}};
    ImagePeers peers{*server.store, "pvB", kSealKey, [this](const std::string& l) { log.push_back(l); }};
    std::vector<std::string> log;
    std::vector<Image> served;
    std::unique_ptr<RackImages> rack;

    RackRig() {
        const auto dir = server.dir.path();
        testutil::write_file(dir / "raw", testutil::sample_image(6, kChunk, 3));
        auto key = imaging::SigningKey::load(dir / "site.key");
        REQUIRE(key);
        imaging::PackOptions po;
        po.chunk_size = kChunk;
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
            [this](const std::vector<Image>& images) { served = images; }, clock,
            [this](const std::string& l) { log.push_back(l); });
    }
    Host host(const std::string& name, const std::string& rack_name, int n) {
        auto h = server.store->add_host({*Mac::parse("52:54:00:00:01:0" + std::to_string(n)), name,
                                         "", rack_name},
                                        HostState::enrolled, "test");
        REQUIRE(h);
        return *h;
    }
    DeploymentId deploy(const std::vector<HostId>& hosts, const std::string& owner) {
        auto d = server.store->create_deployment(image.id, Transport::delta, hosts);
        REQUIRE(d);
        const Timestamp now = server.store->now();
        REQUIRE(server.store->acquire_lease(deployment_lease(d->id), owner, now, now + 60000));
        return d->id;
    }
    void owner_serves(const RunningServer& delta) {
        owner.publish({{image.id,
                        {"", delta.address(), "peers", imaging::receiver_key(secret, "peers"), secret}}});
    }
    std::size_t logged(const std::string& part) const {
        return std::size_t(std::count_if(log.begin(), log.end(), [&](const std::string& l) {
            return l.find(part) != std::string::npos;
        }));
    }
};

}  // namespace

TEST_CASE("rack images: a rack server fetches the image of another server's deployment in its rack") {
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
    CHECK(rig.logged("rack image cache: dom0@1 fetched from pvA (" + delta.address() + ") by delta: 4 of 4 chunks") == 1);
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

TEST_CASE("rack images: no source yet waits silently; a failing one is retried after 2 s, then 4 s") {
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
    rig.owner.publish({{rig.image.id,
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
