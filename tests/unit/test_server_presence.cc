// What servers publish under their own ids, swept once they are gone (server_presence.h): two
// servers, a third gone long ago and an older one with no presence lease, on one store (SQLite
// and PostgreSQL) and a fake clock. A clean stop deletes what points at its listeners and keeps
// its rack deliveries; a server whose presence lease expired more than the bound ago loses its
// settings, its rack leases nobody took and its presence row; a live one, one gone lately, or
// one that never held a presence lease keeps them. A failed start leaves at once. Dom0 token
// generations of hosts no longer in the store are swept.
#include <doctest/doctest.h>

#include <algorithm>

#include "auth.h"
#include "base/clock.h"
#include "image_peers.h"
#include "lease_keeper.h"
#include "provisioner/store.h"
#include "server_presence.h"
#include "store_sites.h"

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

// The keys server publishes (those a clean stop keeps: stopped), and then extra, sorted.
std::vector<std::string> settings_of(const std::vector<std::string>& servers, bool stopped,
                                     std::vector<std::string> extra = {}) {
    for (const std::string& server : servers)
        for (const auto& setting : ServerPresence::published_settings())
            if (!stopped || !setting.withdrawn_at_stop) extra.push_back(setting.prefix + server);
    std::sort(extra.begin(), extra.end());
    return extra;
}

std::vector<std::string> keys(Store& store) {
    auto listed = store.list_setting_keys("");
    REQUIRE(listed.is_ok());
    return *listed;
}

std::vector<std::string> lease_names(Store& store) {
    auto rows = store.list_leases();
    REQUIRE(rows.is_ok());
    std::vector<std::string> out;
    for (const LeaseRow& row : *rows) out.push_back(row.name + "=" + row.owner);
    return out;
}

Timestamp wall_ms(base::Clock& clock) {
    return std::chrono::duration_cast<milliseconds>(clock.wall_now().time_since_epoch()).count();
}

// Five seconds at a time, renewing keeper's leases as its server's process thread does.
void pass(base::FakeClock& clock, LeaseKeeper& keeper, milliseconds span) {
    for (milliseconds t{0}; t < span; t += seconds(5)) {
        clock.advance(seconds(5));
        REQUIRE(keeper.renew_if_due().is_ok());
    }
}

}  // namespace

STORE_TEST("server presence: a clean stop withdraws; a sweep takes only servers gone long ago") {
    auto opened = site.open();
    Store& store = *opened;
    base::FakeClock clock;
    const milliseconds lease = seconds(15);
    CHECK(ServerPresence::stale_after(lease) == minutes(10));
    CHECK(ServerPresence::stale_after(minutes(2)) == minutes(20));
    std::vector<std::string> log;
    auto logger = [&](const std::string& l) { log.push_back(l); };
    LeaseKeeper keeper_a(store, clock, "a", lease), keeper_b(store, clock, "b", lease);
    ServerPresence a(keeper_a, store, clock, minutes(10), logger);
    ServerPresence b(keeper_b, store, clock, minutes(10), logger);
    a.serving();
    b.serving();
    REQUIRE(a.announce());
    REQUIRE(b.announce());
    CHECK(keeper_a.holds("server:a"));
    publish_all(store, "a");
    publish_all(store, "b");
    // b serves racks r2 and, as a standby, r3.
    for (const char* name : {"rack-server:r2", "dhcp:r2", "dhcp:r3"})
        REQUIRE(keeper_b.acquire(name)->owner == "b");
    // A server of a rolling upgrade's older version: no presence lease, a rack lease, and its
    // settings.
    publish_all(store, "old");
    REQUIRE(store.acquire_lease("rack-server:r9", "old", wall_ms(clock), wall_ms(clock) + 15000)
                ->owner == "old");
    REQUIRE(store.set_setting("hot-template-servers", "{}"));  // not per server: never swept

    // a and b are live, and "old" may be (nothing tells): nothing is swept.
    auto swept = a.sweep();
    REQUIRE(swept.is_ok());
    CHECK(swept->empty());
    CHECK(keys(store) == settings_of({"a", "b", "old"}, false, {"hot-template-servers"}));
    CHECK(log.empty());

    // b stops cleanly: what points at its listeners goes; its rack deliveries stay for their
    // owners, and its leases are left to expire (a killed server's alike).
    REQUIRE(b.withdraw());
    CHECK(keys(store) ==
          settings_of({"a", "old"}, false, {"hot-template-servers", "rack-deliveries:b"}));
    CHECK(settings_of({"b"}, true) == std::vector<std::string>{"rack-deliveries:b"});
    // a, the standby of r3, takes it from the dead b: that row is a's now.
    pass(clock, keeper_a, lease + seconds(5));
    auto taken = keeper_a.acquire("dhcp:r3");
    REQUIRE(taken.is_ok());
    CHECK(taken->owner == "a");
    CHECK(taken->taken_from == "b");
    // Nine minutes after b's lease expired: not yet.
    pass(clock, keeper_a, minutes(9) - seconds(5));
    CHECK(a.sweep()->empty());
    CHECK(store.get_setting("rack-deliveries:b").is_ok());
    // Past ten minutes: b's deliveries, its rack leases nobody took and its row go; a's stay,
    // and all of "old"'s.
    pass(clock, keeper_a, seconds(65));
    swept = a.sweep();
    REQUIRE(swept.is_ok());
    CHECK(*swept == std::vector<std::string>{"b"});
    CHECK(keys(store) == settings_of({"a", "old"}, false, {"hot-template-servers"}));
    CHECK(lease_names(store) ==
          std::vector<std::string>{"dhcp:r3=a", "rack-server:r9=old", "server:a=a"});
    REQUIRE(log.size() == 1);
    CHECK(log.back() ==
          "swept what 1 server(s) gone for over 600 s had left in the store: rack-deliveries:b, "
          "lease dhcp:r2, lease rack-server:r2, lease server:b");
    CHECK(a.sweep()->empty());  // all done
}

STORE_TEST("server presence: a failed start leaves at once; one that served leaves its row") {
    auto opened = site.open();
    Store& store = *opened;
    base::FakeClock clock;
    std::vector<std::string> log;
    LeaseKeeper keeper_a(store, clock, "a", seconds(15)), keeper_b(store, clock, "b", seconds(15));
    {
        // a cannot listen: it had announced, and published (a start that failed later).
        ServerPresence a(keeper_a, store, clock, minutes(10),
                         [&](const std::string& l) { log.push_back(l); });
        REQUIRE(a.announce());
        publish_all(store, "a");
        CHECK(lease_names(store) == std::vector<std::string>{"server:a=a"});
    }
    CHECK(keys(store).empty());
    CHECK(lease_names(store).empty());
    CHECK_FALSE(keeper_a.holds("server:a"));
    {
        ServerPresence b(keeper_b, store, clock, minutes(10),
                         [&](const std::string& l) { log.push_back(l); });
        REQUIRE(b.announce());
        b.serving();
        publish_all(store, "b");
        REQUIRE(b.withdraw());
    }
    CHECK(keys(store) == std::vector<std::string>{"rack-deliveries:b"});
    CHECK(lease_names(store) == std::vector<std::string>{"server:b=b"});
    CHECK(log.empty());
}

STORE_TEST("server presence: Dom0 token generations of hosts no longer in the store swept") {
    auto opened = site.open();
    Store& store = *opened;
    base::FakeClock clock;
    std::vector<std::string> log;
    LeaseKeeper keeper(store, clock, "a", seconds(15));
    ServerPresence a(keeper, store, clock, minutes(10),
                     [&](const std::string& l) { log.push_back(l); });
    a.serving();
    auto mac = Mac::parse("52:54:00:00:00:01");
    REQUIRE(mac.is_ok());
    auto host = store.add_host(HostSpec{*mac, "h1", "", "r1"}, HostState::enrolled, "test");
    REQUIRE(host.is_ok());
    REQUIRE(Authenticator::set_dom0_generation(store, host->id, 4));
    // What an older server's removal of host id+1 left.
    REQUIRE(Authenticator::set_dom0_generation(store, host->id + 1, 7));
    a.sweep_if_due();
    CHECK(keys(store) == std::vector<std::string>{"dom0_generation:" + std::to_string(host->id)});
    REQUIRE(log.size() == 1);
    CHECK(log[0] == "swept the Dom0 token generations of 1 removed host(s): dom0_generation:" +
                        std::to_string(host->id + 1));
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
