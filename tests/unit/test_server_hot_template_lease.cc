// Hot-template serving as a singleton job (hot_template_lease.h), two servers on one store and
// a fake clock: the first serves and publishes its template servers, the second serves none and
// answers with the first's; once the first stops renewing, the second takes the serving over
// after the lease (an event says so) and publishes its own; the first, back, serves no more.
// Then two Orchestrators on fake launchers: only the holder runs a hot template's delta server;
// the other starts one once the holder's lease has expired, and the holder, back, stops its own.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "hot_template_lease.h"
#include "lease_keeper.h"
#include "provisioner/store.h"
#include "test_server_fixture.h"

using namespace provisioner;
using namespace provisioner::server;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("hot-template lease: one server serves, the other answers with its servers, then takes over") {
    auto opened = open_sqlite_store(":memory:");
    REQUIRE(opened.is_ok());
    Store& store = **opened;
    base::FakeClock clock;
    LeaseKeeper keeper_a(store, clock, "server-a", seconds(9));
    LeaseKeeper keeper_b(store, clock, "server-b", seconds(9));
    std::vector<std::string> log_a, log_b;
    const std::string site_key = "-----BEGIN PRIVATE KEY----- the site's -----END PRIVATE KEY-----";
    HotTemplateLease a(keeper_a, store, clock, site_key,
                       [&](const std::string& l) { log_a.push_back(l); });
    HotTemplateLease b(keeper_b, store, clock, site_key,
                       [&](const std::string& l) { log_b.push_back(l); });

    CHECK(a.serve());
    CHECK_FALSE(b.serve());
    CHECK_FALSE(b.published(7).has_value());  // a has published nothing yet
    a.publish({{7, {"10.0.0.1:9002", std::string(64, 'a')}}});
    CHECK_FALSE(b.serve());  // within a second of its last try: not read again yet
    CHECK_FALSE(b.published(7).has_value());
    clock.advance(seconds(1));
    CHECK_FALSE(b.serve());
    auto at_a = b.published(7);
    REQUIRE(at_a.has_value());
    CHECK(at_a->address == "10.0.0.1:9002");
    CHECK(at_a->secret == std::string(64, 'a'));
    CHECK_FALSE(b.published(8).has_value());
    // The store holds the address, and the secret only sealed under the site key.
    auto stored = store.get_setting(HotTemplateLease::kSetting);
    REQUIRE(stored.is_ok());
    CHECK(stored->find("10.0.0.1:9002") != std::string::npos);
    CHECK(stored->find(std::string(64, 'a')) == std::string::npos);
    CHECK(stored->find("\"sealed\":\"v1:") != std::string::npos);
    {
        // A server with another site key (or a reader of the store alone) gets no secret.
        LeaseKeeper keeper_c(store, clock, "server-c", seconds(9));
        std::vector<std::string> log_c;
        HotTemplateLease c(keeper_c, store, clock, "another key",
                           [&](const std::string& l) { log_c.push_back(l); });
        CHECK_FALSE(c.serve());
        CHECK_FALSE(c.published(7).has_value());
        REQUIRE(log_c.size() == 1);
        CHECK(log_c[0].find("does not open") != std::string::npos);
        // Nor does an entry moved to another address (the writer of a row cannot redirect).
        auto doc = nlohmann::json::parse(*stored);
        doc["templates"]["7"]["delta"] = "10.6.6.6:9002";
        REQUIRE(store.set_setting(HotTemplateLease::kSetting, doc.dump()));
        clock.advance(seconds(1));
        CHECK_FALSE(b.serve());
        CHECK_FALSE(b.published(7).has_value());
        REQUIRE(store.set_setting(HotTemplateLease::kSetting, *stored));
        log_b.clear();
        clock.advance(seconds(1));
        CHECK_FALSE(b.serve());
        REQUIRE(b.published(7).has_value());
        CHECK(b.published(7)->secret == std::string(64, 'a'));
    }

    // a renews (the orchestrator's tick) while alive; b keeps answering with a's servers.
    for (int i = 0; i < 4; ++i) {
        clock.advance(seconds(3));
        REQUIRE(keeper_a.renew_if_due().is_ok());
        CHECK(a.serve());
        CHECK_FALSE(b.serve());
        CHECK(b.published(7).has_value());
    }

    // a stops: within its lease b still sends agents to it; past it, not to a dead server.
    clock.advance(milliseconds(8500));
    CHECK_FALSE(b.serve());
    CHECK(b.published(7).has_value());
    clock.advance(milliseconds(1000));
    CHECK(b.serve());  // expired: taken over
    REQUIRE(log_b.size() == 1);
    CHECK(log_b[0] == "hot templates served by server-b, taken over from server-a (its lease expired)");
    auto events = store.list_events(EventFilter{});
    REQUIRE(events.is_ok());
    REQUIRE(events->size() == 1);
    CHECK(events->at(0).reason == log_b[0]);
    b.publish({{7, {"10.0.0.2:9002", std::string(64, 'b')}}});

    // a comes back: its renewal says it lost the lease, and it serves no more but points at b.
    auto lost = keeper_a.renew_if_due();
    REQUIRE(lost.is_ok());
    CHECK(*lost == std::vector<std::string>{HotTemplateLease::kName});
    CHECK_FALSE(a.serve());
    auto at_b = a.published(7);
    REQUIRE(at_b.has_value());
    CHECK(at_b->address == "10.0.0.2:9002");

    // b stops cleanly: a takes over at its next try, without waiting for an expiry.
    b.release();
    clock.advance(seconds(1));
    CHECK(a.serve());
    CHECK(log_a.empty());
}

TEST_CASE("hot-template lease: two orchestrators, one runs the template servers; the other takes over") {
    using namespace servertest;
    Server server;  // the store both share
    server.config.template_cool_down = seconds(3600);
    testutil::TempDir other_dir;
    ServerConfig other = server.config;
    other.state_dir = other_dir.path();
    // Both servers see the template files (one machine here; rack caches elsewhere).
    std::filesystem::create_directory_symlink(server.config.state_dir / "templates",
                                              other.state_dir / "templates");
    base::FakeClock clock;
    FakeLauncher launcher_a, launcher_b;
    auto keeper_a = std::make_shared<LeaseKeeper>(*server.store, clock, "server-a", seconds(6));
    auto keeper_b = std::make_shared<LeaseKeeper>(*server.store, clock, "server-b", seconds(6));
    auto nothing = [](const std::string&) {};
    Orchestrator a(*server.store, server.config, launcher_a, "PEM", nothing, clock);
    Orchestrator b(*server.store, other, launcher_b, "PEM", nothing, clock);
    a.set_leases(keeper_a);
    b.set_leases(keeper_b);
    std::vector<std::string> log_b;
    a.set_hot_template_lease(
        std::make_shared<HotTemplateLease>(*keeper_a, *server.store, clock, "site key", nothing));
    b.set_hot_template_lease(std::make_shared<HotTemplateLease>(
        *keeper_b, *server.store, clock, "site key",
        [&](const std::string& l) { log_b.push_back(l); }));
    server.add_template("debian", "1");
    REQUIRE(server.last_status == 201);
    auto t = server.store->find_template("debian", "1");
    REQUIRE(t.is_ok());
    REQUIRE(server.store->mark_template_used(t->id, server.store->now()));
    auto template_servers = [](const FakeLauncher& l) {
        return std::count_if(l.spawned.begin(), l.spawned.end(), [](const auto& argv) {
            return argv.size() > 1 && argv[1] == "serve";
        });
    };

    a.tick();
    b.tick();
    a.tick();
    b.tick();
    CHECK(template_servers(launcher_a) == 1);
    CHECK(template_servers(launcher_b) == 0);  // a serves the hot templates

    // a stops ticking (dead): b starts its own once a's lease has expired.
    clock.advance(milliseconds(5500));
    b.tick();
    CHECK(template_servers(launcher_b) == 0);
    clock.advance(milliseconds(1000));
    b.tick();
    b.tick();
    CHECK(template_servers(launcher_b) == 1);
    REQUIRE_FALSE(log_b.empty());
    CHECK(log_b[0] == "hot templates served by server-b, taken over from server-a (its lease expired)");

    // a was only stalled: its next tick finds the lease gone and stops its template server.
    CHECK(launcher_a.signalled.empty());
    a.tick();
    CHECK(launcher_a.signalled.size() == 1);
    CHECK(template_servers(launcher_a) == 1);  // and starts none again
}
