// The hot-template holder's packs (provisioner/server/hot_template_packs.h, issue 20): pvA took
// the hot-template lease over, but debian@1 was imported on pvB, whose STATE/templates alone
// holds its pack. pvA names it unavailable (a line and an event), waits while no live server
// publishes a copy; pvB, back, offers its pack (offers()), which the wiring serves and
// publishes as "rack-templates:pvB"; pvA fetches it by delta, installs it under its own
// STATE/templates and its orchestrator then runs the template's delta server from it.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>

#include "hot_template_lease.h"
#include "hot_template_packs.h"
#include "image_peers.h"
#include "imaging/secret.h"
#include "lease_keeper.h"
#include "rack_templates.h"
#include "server_presence.h"
#include "template_image.h"
#include "test_delta_server.h"
#include "test_server_fixture.h"

using namespace servertest;
using deltatest::RunningServer;

namespace {

const std::string kHotPacksSealKey = "the site key's text, for the hot-template packs";

std::string hot_pack_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool hot_pack_event(Store& store, const std::string& part) {
    auto events = store.list_events({});
    REQUIRE(events);
    return std::any_of(events->begin(), events->end(),
                       [&](const Event& e) { return e.reason.find(part) != std::string::npos; });
}

}  // namespace

TEST_CASE("hot-template packs: a holder without a pack fetches it from a peer, then serves it") {
    Server s;  // pvA's state, store and orchestrator
    s.config.template_cool_down = std::chrono::seconds(3600);
    s.add_template("debian", "1");
    REQUIRE(s.last_status == 201);
    const Template debian = *s.store->find_template("debian", "1");
    REQUIRE(s.store->mark_template_used(debian.id, s.store->now()));
    // Imported on pvB: its pack is in pvB's STATE/templates, not in pvA's.
    const auto templates_a = s.dir.path() / "templates";
    const auto templates_b = s.dir.path() / "b" / "templates";
    const auto pack_a = template_image_dir(templates_a, "debian@1");
    const auto pack_b = template_image_dir(templates_b, "debian@1");
    std::filesystem::create_directories(templates_b);
    std::filesystem::rename(pack_a, pack_b);

    base::FakeClock clock;
    LeaseKeeper keeper_a(*s.store, clock, "pvA", std::chrono::seconds(9));
    LeaseKeeper keeper_b(*s.store, clock, "pvB", std::chrono::seconds(9));
    std::vector<std::string> log_a, log_b;
    auto logger = [](std::vector<std::string>& to) {
        return [&to](const std::string& l) { to.push_back(l); };
    };
    auto lease_a = std::make_shared<HotTemplateLease>(keeper_a, *s.store, clock, kHotPacksSealKey,
                                                      logger(log_a));
    HotTemplateLease lease_b(keeper_b, *s.store, clock, kHotPacksSealKey, logger(log_b));
    REQUIRE(lease_a->serve());
    CHECK_FALSE(lease_b.serve());
    auto options = [&](const std::filesystem::path& templates, const std::string& self) {
        HotTemplatePacks::Options o;
        o.templates_dir = templates;
        o.self = self;
        o.seal_key = kHotPacksSealKey;
        o.cool_down = s.config.template_cool_down;
        o.cache = {templates.parent_path() / "template-cache", 1ull << 30,
                   s.dir.path() / "site.pub", std::chrono::seconds(5), "template cache"};
        return o;
    };
    HotTemplatePacks packs_a(*s.store, *lease_a, nullptr, options(templates_a, "pvA"), clock,
                             logger(log_a));
    HotTemplatePacks packs_b(*s.store, lease_b, nullptr, options(templates_b, "pvB"), clock,
                             logger(log_b));
    auto said = [&](const std::string& part) {
        return std::count_if(log_a.begin(), log_a.end(), [&](const std::string& l) {
            return l.find(part) != std::string::npos;
        });
    };

    // Nobody has a copy yet: named unavailable once (an event), and it waits.
    packs_a.tick();
    packs_a.tick();
    CHECK(said("hot template debian@1 is unavailable: its pack is not on this server") == 1);
    CHECK(hot_pack_event(*s.store, "hot template debian@1 is unavailable"));
    CHECK(said("hot template debian@1 stays unavailable: no live server publishes a copy") == 1);
    CHECK(packs_a.offers().empty());  // the holder offers nothing
    CHECK_FALSE(std::filesystem::exists(pack_a));

    // pvB, the importer, alive again: the live holder does not serve debian@1, pvB has its pack.
    auto offered = packs_b.offers();
    REQUIRE(offered.size() == 1);
    CHECK(offered[0].t.id == debian.id);
    CHECK(offered[0].dir == pack_b);
    // What the wiring does with an offer: a delta server of it, published by pvB as its rack
    // servers' copies are; pvB is live (its presence lease).
    const imaging::Secret secret = *imaging::random_secret();
    RunningServer delta(RunningServer::options(offered[0].dir, secret));
    ImagePeers peers_b{*s.store, "pvB", kHotPacksSealKey, [](const std::string&) {}};
    peers_b.publish_templates({{debian.id, {delta.address(), imaging::secret_to_hex(secret)}}});
    // A dead server's publication is never asked: only the live pvB's is.
    ImagePeers peers_c{*s.store, "pvC", kHotPacksSealKey, [](const std::string&) {}};
    peers_c.publish_templates({{debian.id, {"127.0.0.1:1", std::string(64, 'c')}}});
    const Timestamp now = s.store->now();
    REQUIRE(s.store->acquire_lease(ServerPresence::lease_name("pvB"), "pvB", now, now + 60000));
    REQUIRE(
        s.store->acquire_lease(ServerPresence::lease_name("pvC"), "pvC", now - 90000, now - 30000));

    packs_a.tick();  // not before its retry
    CHECK_FALSE(std::filesystem::exists(pack_a));
    clock.advance(std::chrono::seconds(4));
    REQUIRE(lease_a->serve());
    packs_a.tick();
    CHECK(said("hot templates: debian@1 fetched from pvB (" + delta.address() + ") by delta") == 1);
    CHECK(said("pvC") == 0);
    CHECK(said("hot template debian@1 is available again") == 1);
    CHECK(hot_pack_event(*s.store, "hot templates: debian@1 fetched from pvB"));
    CHECK(hot_pack_event(*s.store, "hot template debian@1 is available again"));
    REQUIRE(std::filesystem::exists(pack_a / "manifest.json"));
    CHECK(hot_pack_bytes(pack_a / "chunks.pack") == hot_pack_bytes(pack_b / "chunks.pack"));
    CHECK(hot_pack_bytes(pack_a / "manifest.json") == hot_pack_bytes(pack_b / "manifest.json"));
    packs_a.tick();  // whole: nothing more
    CHECK(said("debian@1 fetched from pvB") == 1);

    // pvA's orchestrator, the holder, now runs debian@1's delta server from pvA's own pack.
    Orchestrator& o = *s.orchestrator;
    o.set_hot_template_lease(lease_a);
    const std::size_t before = s.launcher.spawned.size();
    o.tick();
    bool serving = false;
    for (std::size_t i = before; i < s.launcher.spawned.size(); ++i)
        serving |= s.launcher.spawned[i].size() > 3 && s.launcher.spawned[i][1] == "serve" &&
                   s.launcher.spawned[i][3] == pack_a.string();
    CHECK(serving);

    // Once the holder publishes it, pvB offers it no more.
    lease_a->publish({{debian.id, {"127.0.0.1:9", std::string(64, 'a')}}});
    clock.advance(std::chrono::seconds(1));
    CHECK_FALSE(lease_b.serve());
    CHECK(packs_b.offers().empty());
}

TEST_CASE("hot-template packs: a rack server become holder installs the copy its cache holds") {
    Server s;
    s.config.template_cool_down = std::chrono::seconds(3600);
    s.add_template("debian", "1");
    REQUIRE(s.last_status == 201);
    const Template debian = *s.store->find_template("debian", "1");
    REQUIRE(s.store->mark_template_used(debian.id, s.store->now()));
    const auto templates = s.dir.path() / "templates";
    const auto pack = template_image_dir(templates, "debian@1");
    const auto elsewhere = s.dir.path() / "importer-pack";
    std::filesystem::rename(pack, elsewhere);

    base::FakeClock clock;
    // Its template cache holds a copy, fetched while another server served the templates.
    auto opened = RackImageCache::open({s.dir.path() / "template-cache", 1ull << 30,
                                        s.dir.path() / "site.pub", std::chrono::seconds(5)},
                                       clock);
    REQUIRE(opened);
    RackImageCache& cache = **opened;
    {
        const imaging::Secret secret = *imaging::random_secret();
        RunningServer delta(RunningServer::options(elsewhere, secret));
        PeerSource used;
        REQUIRE(fetch_template_copy(cache, debian, "pvA",
                                    {delta.address(), imaging::secret_to_hex(secret)}, {}, used));
    }
    LeaseKeeper keeper(*s.store, clock, "pvB", std::chrono::seconds(9));
    std::vector<std::string> log;
    HotTemplateLease lease(keeper, *s.store, clock, kHotPacksSealKey,
                           [&](const std::string& l) { log.push_back(l); });
    REQUIRE(lease.serve());
    HotTemplatePacks::Options options;
    options.templates_dir = templates;
    options.self = "pvB";
    options.seal_key = kHotPacksSealKey;
    options.cool_down = s.config.template_cool_down;
    HotTemplatePacks packs(*s.store, lease, &cache, options, clock,
                           [&](const std::string& l) { log.push_back(l); });
    packs.tick();  // no peer is asked: the copy is here
    REQUIRE(std::filesystem::exists(pack / "manifest.json"));
    CHECK(hot_pack_bytes(pack / "chunks.pack") == hot_pack_bytes(elsewhere / "chunks.pack"));
    CHECK(std::any_of(log.begin(), log.end(), [](const std::string& l) {
        return l.find(
                   "hot template debian@1 is available again: its pack (its copy in this "
                   "server's template cache)") != std::string::npos;
    }));
    CHECK(std::none_of(log.begin(), log.end(), [](const std::string& l) {
        return l.find("fetched from") != std::string::npos;
    }));
    // The copy's files are linked, not copied: the cache may evict its copy, the pack stays.
    CHECK(std::filesystem::hard_link_count(pack / "chunks.pack") == 2);
}
