// What servers publish under their own ids, swept once they are gone (server_presence.h): two
// servers and a third gone long ago on one store and a fake clock. A clean stop deletes what
// points at its listeners and keeps its rack deliveries; a server whose presence lease expired
// more than the bound ago loses its settings and its row; a live one, or one gone lately,
// keeps them.
#include <doctest/doctest.h>

#include "base/clock.h"
#include "image_peers.h"
#include "lease_keeper.h"
#include "provisioner/store.h"
#include "server_presence.h"

using namespace provisioner;
using namespace provisioner::server;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

void publish_all(Store& store, const std::string& server) {
    for (const auto& setting : ServerPresence::published_settings())
        REQUIRE(store.set_setting(setting.prefix + server, "{}"));
}

std::vector<std::string> keys(Store& store) {
    auto listed = store.list_setting_keys("");
    REQUIRE(listed.is_ok());
    return *listed;
}

}  // namespace

TEST_CASE("server presence: a clean stop withdraws; a sweep takes only servers gone long ago") {
    auto opened = open_sqlite_store(":memory:");
    REQUIRE(opened.is_ok());
    Store& store = **opened;
    base::FakeClock clock;
    const milliseconds lease = seconds(15);
    CHECK(ServerPresence::stale_after(lease) == minutes(10));
    CHECK(ServerPresence::stale_after(minutes(2)) == minutes(20));
    std::vector<std::string> log;
    auto logger = [&](const std::string& l) { log.push_back(l); };
    LeaseKeeper keeper_a(store, clock, "a", lease), keeper_b(store, clock, "b", lease);
    ServerPresence a(keeper_a, store, clock, minutes(10), logger);
    ServerPresence b(keeper_b, store, clock, minutes(10), logger);
    REQUIRE(a.announce());
    REQUIRE(b.announce());
    CHECK(keeper_a.holds("server:a"));
    publish_all(store, "a");
    publish_all(store, "b");
    publish_all(store, "old");  // a server from before presence leases: no row at all
    REQUIRE(store.set_setting("hot-template-servers", "{}"));  // not per server: never swept

    // "old" has no presence: swept at once; a and b are live.
    auto swept = a.sweep();
    REQUIRE(swept.is_ok());
    CHECK(*swept == std::vector<std::string>{"old"});
    CHECK(keys(store) == std::vector<std::string>{"hot-template-servers", "image-delta-servers:a",
                                                  "image-delta-servers:b", "rack-deliveries:a",
                                                  "rack-deliveries:b", "rack-multicast:a",
                                                  "rack-multicast:b"});
    REQUIRE(log.size() == 1);
    CHECK(log[0] ==
          "swept what 1 server(s) gone for over 600 s had left in the store: "
          "image-delta-servers:old, rack-multicast:old, rack-deliveries:old");

    // b stops cleanly: what points at its listeners goes; its rack deliveries stay for their
    // owners, and its presence lease is left to expire.
    REQUIRE(b.withdraw());
    CHECK(keys(store) == std::vector<std::string>{"hot-template-servers", "image-delta-servers:a",
                                                  "rack-deliveries:a", "rack-deliveries:b",
                                                  "rack-multicast:a"});
    // Nine minutes after b's lease expired: not yet. a renews its own meanwhile.
    clock.advance(lease);
    for (int i = 0; i < 9 * 12; ++i) {
        clock.advance(seconds(5));
        REQUIRE(keeper_a.renew_if_due().is_ok());
    }
    CHECK(a.sweep()->empty());
    CHECK(store.get_setting("rack-deliveries:b").is_ok());
    // Past ten minutes: b's deliveries and its row go; a's stay.
    for (int i = 0; i < 13; ++i) {
        clock.advance(seconds(5));
        REQUIRE(keeper_a.renew_if_due().is_ok());
    }
    swept = a.sweep();
    REQUIRE(swept.is_ok());
    CHECK(*swept == std::vector<std::string>{"b"});
    CHECK(keys(store) == std::vector<std::string>{"hot-template-servers", "image-delta-servers:a",
                                                  "rack-deliveries:a", "rack-multicast:a"});
    auto rows = store.list_leases();
    REQUIRE(rows.is_ok());
    REQUIRE(rows->size() == 1);
    CHECK(rows->front().name == "server:a");
    CHECK(log.back() ==
          "swept what 1 server(s) gone for over 600 s had left in the store: rack-deliveries:b, "
          "lease server:b");
}

TEST_CASE("server presence: a server whose row was swept takes its presence again") {
    auto opened = open_sqlite_store(":memory:");
    REQUIRE(opened.is_ok());
    Store& store = **opened;
    base::FakeClock clock;
    std::vector<std::string> log;
    LeaseKeeper keeper(store, clock, "a", seconds(15));
    ServerPresence a(keeper, store, clock, minutes(10),
                     [&](const std::string& l) { log.push_back(l); });
    REQUIRE(a.announce());
    a.sweep_if_due();
    // Out of reach for longer than the bound: another server swept its row.
    REQUIRE(store.release_lease("server:a", "a"));
    clock.advance(seconds(20));
    auto lost = keeper.renew_if_due();
    REQUIRE(lost.is_ok());
    CHECK(*lost == std::vector<std::string>{"server:a"});
    a.sweep_if_due();  // within the minute: nothing yet
    CHECK_FALSE(keeper.holds("server:a"));
    clock.advance(seconds(40));
    a.sweep_if_due();
    CHECK(keeper.holds("server:a"));
    CHECK(log.empty());
}
