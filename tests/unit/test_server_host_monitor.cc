// Heartbeats: a ready host whose Dom0 agent falls silent for three intervals becomes
// unreachable and comes back at its next report, on a FakeClock and a store file (the
// 'unreachable' state is written through both of the store's connections and read back).
#include <doctest/doctest.h>

#include "base/clock.h"
#include "host_monitor.h"
#include "provisioner/store.h"
#include "test_util.h"

using namespace provisioner;
using provisioner::server::HostMonitor;
using namespace std::chrono_literals;

namespace {

Host ready_host(Store& store, const char* mac, const char* name) {
    auto added =
        store.add_host(HostSpec{*Mac::parse(mac), name, "", "r1"}, HostState::enrolled, "test");
    REQUIRE_MESSAGE(added, added.status().message());
    for (HostState s :
         {HostState::booting, HostState::imaging, HostState::imaged, HostState::ready})
        REQUIRE(store.transition(added->id, s, "test"));
    return *store.get_host(added->id);
}

}  // namespace

TEST_CASE(
    "host monitor: three missed heartbeats make a host unreachable; a report brings it back") {
    testutil::TempDir dir;
    const auto path = (dir / "inventory.db").string();
    auto store = open_sqlite_store(path);
    REQUIRE_MESSAGE(store, store.status().message());
    Host web = ready_host(**store, "52:54:00:00:00:01", "web-1");
    Host quiet = ready_host(**store, "52:54:00:00:00:02", "never-reports");

    base::FakeClock clock;
    HostMonitor monitor(**store, clock, 15s);
    CHECK(monitor.bound() == 45s);
    wire::HostMetrics metrics;
    metrics.load1 = 0.5;
    REQUIRE(monitor.reported(web, metrics));
    CHECK(monitor.latest_metrics().at(web.id).load1 == 0.5);

    clock.advance(30s);
    REQUIRE(monitor.reported(web, std::nullopt));  // a report without metrics keeps the last
    CHECK(monitor.latest_metrics().at(web.id).load1 == 0.5);
    clock.advance(44s);
    CHECK(monitor.check().empty());
    clock.advance(1s);
    CHECK(monitor.check() == std::vector<HostId>{web.id});
    CHECK(monitor.check().empty());  // once
    CHECK((*store)->get_host(web.id)->state == HostState::unreachable);
    CHECK((*store)->get_host(quiet.id)->state == HostState::ready);  // never watched

    auto events = (*store)->list_events(EventFilter{web.id});
    REQUIRE(events);
    const Event& down = events->back();
    CHECK(down.from == HostState::ready);
    CHECK(down.to == HostState::unreachable);
    CHECK(down.reason == "no report from its Dom0 agent for 45 s (3 heartbeat intervals of 15 s)");
    HostFilter unreachable;
    unreachable.state = HostState::unreachable;
    CHECK((*store)->count_hosts(unreachable).value() == 1);  // the read-only connection sees it

    clock.advance(10min);
    REQUIRE(monitor.reported(*(*store)->get_host(web.id), std::nullopt));
    CHECK((*store)->get_host(web.id)->state == HostState::ready);
    events = (*store)->list_events(EventFilter{web.id});
    CHECK(events->back().from == HostState::unreachable);
    CHECK(events->back().to == HostState::ready);
    CHECK(events->back().reason == "its Dom0 agent reports again");
    CHECK(monitor.check().empty());

    // A host re-imaged while silent is the orchestrator's, not the monitor's.
    clock.advance(1min);
    REQUIRE((*store)->transition(web.id, HostState::booting, "re-image"));
    CHECK(monitor.check().empty());
    CHECK((*store)->get_host(web.id)->state == HostState::booting);

    // Watched from a restart: the full bound from then.
    monitor.watch(quiet.id);
    clock.advance(44s);
    CHECK(monitor.check().empty());
    clock.advance(1s);
    CHECK(monitor.check() == std::vector<HostId>{quiet.id});

    store->reset();
    auto reopened = open_sqlite_store(path);
    REQUIRE_MESSAGE(reopened, reopened.status().message());
    CHECK((*reopened)->get_host(quiet.id)->state == HostState::unreachable);
    REQUIRE((*reopened)->transition(quiet.id, HostState::ready, "test"));
}
