// Site apply as a singleton job (site_apply_lease.h), two servers on one store and a fake clock:
// while one applies, the other's apply is refused naming it; the lease goes once the apply has
// ended, and the next server plans from what the first wrote; a server that stops (dead) with
// an apply unfinished has it taken over once its lease expires, with an event, and the taker
// hands its steps out and gives the lease up when they are answered.
#include <doctest/doctest.h>

#include "base/clock.h"
#include "lease_keeper.h"
#include "provisioner/store.h"
#include "site_apply_lease.h"
#include "vm_registry.h"

namespace {

using namespace provisioner;
using namespace provisioner::server;
using std::chrono::milliseconds;
using std::chrono::seconds;

reconcile::Action create_on(const std::string& vm, const std::string& host) {
    reconcile::Action a;
    a.kind = reconcile::ActionKind::create;
    a.vm = vm;
    a.host = host;
    a.vcpus = 1;
    a.memory_mib = 256;
    a.image = "debian@1";
    a.reason = "in the site";
    return a;
}

// One server: its lease keeper, VM registry and site apply lease on the shared store.
struct TestServer {
    TestServer(Store& store, base::Clock& clock, const std::string& id)
        : leases(store, clock, id, seconds(9)),
          vms(store),
          site(leases, vms, store, clock, [this](const std::string& line) { log.push_back(line); }) {
        REQUIRE(vms.load());
    }
    LeaseKeeper leases;
    VmRegistry vms;
    std::vector<std::string> log;
    SiteApplyLease site;
};

// Queues plan as one apply on s, as POST /api/v1/site/apply does: claim, then enqueue.
ApplyId apply_on(TestServer& s, const std::vector<reconcile::Action>& steps) {
    auto claim = s.site.begin();
    REQUIRE_MESSAGE(claim.is_ok(), claim.status().message());
    reconcile::Plan plan;
    plan.actions = steps;
    auto id = s.vms.enqueue_apply(plan, site::Site{}, 1000);
    REQUIRE_MESSAGE(id.is_ok(), id.status().message());
    return *id;
}

struct SiteLeaseRig {
    SiteLeaseRig() {
        auto opened = open_sqlite_store(":memory:");
        REQUIRE(opened.is_ok());
        store = std::move(*opened);
        auto mac = Mac::parse("52:54:00:00:00:01");
        auto host = store->add_host(HostSpec{*mac, "h1", "10.0.0.1", ""}, HostState::enrolled, "test");
        REQUIRE(host.is_ok());
        h1 = host->id;
        a = std::make_unique<TestServer>(*store, clock, "server-a");
        b = std::make_unique<TestServer>(*store, clock, "server-b");
        // h1's agent reports to a only; b knows of h1 from the store alone.
        HostReport r;
        r.host = h1;
        r.name = "h1";
        r.ip = "10.0.0.1";
        r.capacity = {8, 16384, 0.5, 1, 1024, "test:///default", false};
        r.reported_at = 1000;
        REQUIRE(a->vms.report(r));
    }
    std::unique_ptr<Store> store;
    base::FakeClock clock;
    HostId h1 = 0;
    std::unique_ptr<TestServer> a, b;
};

}  // namespace

TEST_CASE("site apply lease: one server applies at a time; the next plans from what it wrote") {
    SiteLeaseRig rig;
    TestServer& a = *rig.a;
    TestServer& b = *rig.b;
    {
        auto claim = a.site.begin();
        REQUIRE(claim.is_ok());
        a.site.tick();  // nothing queued yet, but the claim keeps the lease
        CHECK(a.leases.holds(SiteApplyLease::kName));
        auto refused = b.site.begin();
        CHECK(refused.status().code() == Code::conflict);
        CHECK(refused.status().message().find("server server-a is applying the site") !=
              std::string::npos);
    }
    a.site.tick();  // the claim ended with nothing queued: the lease goes
    CHECK_FALSE(a.leases.holds(SiteApplyLease::kName));
    CHECK(rig.store->list_leases()->empty());

    const ApplyId first = apply_on(a, {create_on("web1", "h1")});
    rig.clock.advance(seconds(3));
    a.leases.renew_if_due();  // the orchestrator's tick renews it
    a.site.tick();
    CHECK(a.leases.holds(SiteApplyLease::kName));  // its apply runs
    CHECK(b.site.begin().status().code() == Code::conflict);
    b.site.tick();  // a is alive: nothing to take over
    CHECK_FALSE(b.leases.holds(SiteApplyLease::kName));

    auto pending = a.vms.pending_for(rig.h1);
    REQUIRE(pending.size() == 1);
    REQUIRE(a.vms.answer(pending[0].id, true, ""));
    a.site.tick();
    CHECK_FALSE(a.leases.holds(SiteApplyLease::kName));

    // b never heard from h1's agent, nor of a's apply: it plans from the store.
    CHECK(b.vms.reports().empty());
    {
        auto claim = b.site.begin();
        REQUIRE_MESSAGE(claim.is_ok(), claim.status().message());
        auto applies = b.vms.applies();
        REQUIRE(applies.size() == 1);
        CHECK(applies[0].id == first);
        CHECK(applies[0].state == "succeeded");
        auto reports = b.vms.reports();
        REQUIRE(reports.size() == 1);
        REQUIRE(reports[0].vms.size() == 1);
        CHECK(reports[0].vms[0].name == "web1");  // as a's answered create left it
    }
    CHECK(a.log.empty());
    CHECK(b.log.empty());
}

TEST_CASE("site apply lease: a dead server's unfinished apply is taken over after its lease, with an event") {
    SiteLeaseRig rig;
    TestServer& a = *rig.a;
    TestServer& b = *rig.b;
    const ApplyId apply = apply_on(a, {create_on("web1", "h1"), create_on("web2", "h1")});
    auto first = a.vms.pending_for(rig.h1);
    REQUIRE(first.size() == 1);
    REQUIRE(a.vms.answer(first[0].id, true, ""));  // web1 done; web2 handed out, then a dies

    b.site.tick();
    CHECK_FALSE(b.leases.holds(SiteApplyLease::kName));
    rig.clock.advance(milliseconds(8999));
    b.site.tick();  // within a's lease: a may be alive
    CHECK_FALSE(b.leases.holds(SiteApplyLease::kName));
    CHECK(b.site.begin().status().code() == Code::conflict);
    rig.clock.advance(milliseconds(1001));
    b.site.tick();
    REQUIRE(b.leases.holds(SiteApplyLease::kName));
    REQUIRE(b.log.size() == 1);
    const std::string expected = "site apply taken over by server-b from server-a (its lease "
                                 "expired): its unfinished apply " +
                                 std::to_string(apply) + " carries on here";
    CHECK(b.log[0] == expected);
    auto events = rig.store->list_events(EventFilter{});
    REQUIRE(events.is_ok());
    REQUIRE_FALSE(events->empty());
    CHECK(events->back().reason == expected);
    CHECK_FALSE(events->back().host.has_value());

    // b hands web2 out (h1's agent fails over to it) and takes its answer; then lets go.
    auto pending = b.vms.pending_for(rig.h1);
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].vm.name == "web2");
    b.site.tick();
    CHECK(b.leases.holds(SiteApplyLease::kName));  // the adopted apply runs
    REQUIRE(b.vms.answer(pending[0].id, true, ""));
    CHECK(b.vms.applies().at(0).state == "succeeded");
    b.site.tick();
    CHECK_FALSE(b.leases.holds(SiteApplyLease::kName));
    CHECK(rig.store->list_leases()->empty());

    // a comes back (stalled, not dead): it learns it lost the lease, and its next apply
    // plans from the store, where b finished a's apply.
    auto lost = a.leases.renew_if_due();
    REQUIRE(lost.is_ok());
    CHECK(*lost == std::vector<std::string>{SiteApplyLease::kName});
    auto claim = a.site.begin();
    REQUIRE(claim.is_ok());
    CHECK(a.vms.applies().at(0).state == "succeeded");
}

TEST_CASE("site apply lease: steps queued through one server reach an agent that reports to the other") {
    SiteLeaseRig rig;
    TestServer& a = *rig.a;
    TestServer& b = *rig.b;
    // web2 runs after web1 (both on h1); h1's agent now reports to b, which a queued nothing on.
    const ApplyId apply = apply_on(a, {create_on("web1", "h1"), create_on("web2", "h1")});
    CHECK(b.vms.pending_for(rig.h1).empty());  // b's cache as it was before the apply
    const Timestamp t0 = 5'000;
    REQUIRE(b.vms.sync_actions(t0));
    auto first = b.vms.pending_for(rig.h1);
    REQUIRE(first.size() == 1);
    CHECK(first[0].vm.name == "web1");
    CHECK(first[0].apply == apply);
    REQUIRE(b.vms.answer(first[0].id, true, ""));  // answered to b: b releases web2
    auto second = b.vms.pending_for(rig.h1);
    REQUIRE(second.size() == 1);
    CHECK(second[0].vm.name == "web2");

    // a, the holder, learns of the answer from the store and keeps the lease while web2 runs.
    rig.clock.advance(seconds(2));
    a.leases.renew_if_due();
    a.site.tick();
    CHECK(a.leases.holds(SiteApplyLease::kName));
    CHECK(a.vms.applies().at(0).steps.at(0).state == ActionState::done);
    CHECK(a.vms.pending_for(rig.h1).size() == 1);  // web2, as b released it
    REQUIRE(b.vms.answer(second[0].id, true, ""));
    CHECK(a.vms.applies().at(0).state == "running");  // until a reads the store again
    rig.clock.advance(seconds(2));
    a.site.tick();
    CHECK(a.vms.applies().at(0).state == "succeeded");
    CHECK_FALSE(a.leases.holds(SiteApplyLease::kName));

    // The throttle: a sync within kActionSync of the last reads nothing, unless forced.
    const ApplyId next = apply_on(a, {create_on("web3", "h1")});
    REQUIRE(b.vms.sync_actions(t0 + VmRegistry::kActionSync - 1));
    CHECK(b.vms.pending_for(rig.h1).empty());
    REQUIRE(b.vms.sync_actions(t0 + VmRegistry::kActionSync - 1, true));
    auto third = b.vms.pending_for(rig.h1);
    REQUIRE(third.size() == 1);
    CHECK(third[0].apply == next);
    CHECK(a.log.empty());
    CHECK(b.log.empty());
}

TEST_CASE("VM registry: a step left waiting by a race between two servers is released by the next sync") {
    SiteLeaseRig rig;
    TestServer& a = *rig.a;
    TestServer& b = *rig.b;
    const ApplyId apply = apply_on(a, {create_on("web1", "h1"), create_on("web2", "h1")});
    auto on_a = a.vms.pending_for(rig.h1);
    REQUIRE(on_a.size() == 1);
    REQUIRE(a.vms.answer(on_a[0].id, true, ""));
    // As if a server that read web1 unanswered had written web2's row back after a's release:
    // web1 done, web2 waiting, in the store.
    auto rows = rig.store->list_vm_actions();
    REQUIRE(rows.is_ok());
    REQUIRE(rows->size() == 2);
    VmActionRow web2 = rows->at(1);
    REQUIRE(web2.state == "released");
    web2.state = "waiting";
    REQUIRE(rig.store->put_vm_action(web2));
    REQUIRE(b.vms.sync_actions(2'000, true));
    auto pending = b.vms.pending_for(rig.h1);
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].vm.name == "web2");
    CHECK(pending[0].apply == apply);
    auto after = rig.store->list_vm_actions();
    REQUIRE(after.is_ok());
    CHECK(after->at(1).state == "released");  // written back for every server
}
