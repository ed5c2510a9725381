// The server's durable state (issue 15, item 4): the store's server-state rows, and VmRegistry,
// ServiceBoard and DiskTransfers written through to a store file that is closed and opened
// again, as a kill -9 and a restart would (SQLite commits before each call returns, so closing
// the connection adds nothing a killed process would not have written).
#include <doctest/doctest.h>

#include <fstream>

#include "disk_transfers.h"
#include "imaging/digest.h"
#include "provisioner/store.h"
#include "service_board.h"
#include "store_sites.h"
#include "test_util.h"
#include "vm_registry.h"

namespace {

using namespace provisioner;
using namespace provisioner::server;

std::unique_ptr<Store> open_at(const std::filesystem::path& path) {
    auto store = open_sqlite_store(path);
    REQUIRE_MESSAGE(store.is_ok(), store.status().message());
    return std::move(*store);
}

HostId add_host(Store& store, const char* mac, const char* name) {
    auto m = Mac::parse(mac);
    REQUIRE(m.is_ok());
    auto host = store.add_host(HostSpec{*m, name, "", ""}, HostState::enrolled, "test");
    REQUIRE(host.is_ok());
    return host->id;
}

HostReport report_of(HostId host, const std::string& name, std::vector<ReportedVm> vms = {}) {
    HostReport r;
    r.host = host;
    r.name = name;
    r.ip = "10.0.0." + std::to_string(host);
    r.capacity = {8, 16384, 0.5, 1, 1024, "test:///default", false};
    r.vms = std::move(vms);
    r.reported_at = 1000;
    return r;
}

reconcile::Action create(const std::string& vm, const std::string& host) {
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

}  // namespace

STORE_TEST("store: server state rows survive closing and opening the store") {
    HostId h1 = 0;
    {
        auto store = site.open();
        h1 = add_host(*store, "52:54:00:00:00:01", "h1");
        CHECK(*store->allocate_ids("vm_action", 3) == 1);
        CHECK(*store->allocate_ids("vm_action", 2) == 4);
        CHECK(*store->allocate_ids("vm_apply", 1) == 1);
        REQUIRE(store->put_vm_apply({1, 500, "{}"}));
        REQUIRE(store->put_vm_action({1, 1, h1, "released", "{\"a\":1}"}));
        REQUIRE(store->put_vm_action({2, 0, h1, "released", "{\"recall\":1}"}));
        REQUIRE(store->put_vm_action({1, 1, h1, "done", "{\"a\":2}"}));  // replaced
        CHECK(store->put_vm_action({3, 1, h1, "lost", "{}"}).code() == Code::conflict);
        REQUIRE(store->put_host_report({h1, 700, "{\"r\":1}"}));
        CHECK(store->put_host_report({h1 + 100, 700, "{}"}).code() == Code::conflict);
        REQUIRE(store->put_guest_report({"web1", 800, "{\"g\":1}"}));
        REQUIRE(store->put_disk_transfer({"1-web1", 0, "", false, 900}));
        REQUIRE(store->put_disk_transfer({"2-db1", 10, "ab", true, 901}));
        REQUIRE(store->remove_vm_action(2));
    }
    auto store = site.open();
    // Ids go on from where they were, though rows that used them are gone.
    CHECK(*store->allocate_ids("vm_action", 1) == 6);
    CHECK(*store->allocate_ids("vm_apply", 1) == 2);
    CHECK(store->allocate_ids("vm_action", 0).status().code() == Code::invalid_argument);
    auto applies = store->list_vm_applies();
    REQUIRE(applies->size() == 1);
    CHECK((*applies)[0].created_at == 500);
    auto actions = store->list_vm_actions();
    REQUIRE(actions->size() == 1);
    CHECK((*actions)[0].state == "done");
    CHECK((*actions)[0].body == "{\"a\":2}");
    CHECK((*actions)[0].apply == 1);
    auto reports = store->list_host_reports();
    REQUIRE(reports->size() == 1);
    CHECK((*reports)[0].reported_at == 700);
    CHECK(store->list_guest_reports()->at(0).vm == "web1");
    auto transfers = store->list_disk_transfers();
    REQUIRE(transfers->size() == 2);
    CHECK((*transfers)[0].id == "1-web1");
    CHECK((*transfers)[1].complete);
    CHECK((*transfers)[1].size == 10);
    // An apply takes its actions with it; a host its report.
    REQUIRE(store->remove_vm_apply(1));
    CHECK(store->list_vm_actions()->empty());
    REQUIRE(store->remove_host(h1));
    CHECK(store->list_host_reports()->empty());
    CHECK(store->integrity_check());
}

TEST_CASE(
    "VM registry: queued, handed-out and answered actions and the reports outlive the "
    "process") {
    testutil::TempDir dir;
    const auto path = dir / "inventory.db";
    HostId h1 = 0, h2 = 0;
    ActionId web1 = 0, web2 = 0;
    {
        auto store = open_at(path);
        h1 = add_host(*store, "52:54:00:00:00:01", "h1");
        h2 = add_host(*store, "52:54:00:00:00:02", "h2");
        VmRegistry vms(*store);
        REQUIRE(vms.load());
        REQUIRE(vms.report(report_of(h1, "h1")));
        REQUIRE(vms.report(report_of(h2, "h2", {{"old", 1, 128, "debian@1", "running"}})));
        reconcile::Plan plan;
        plan.actions = {create("web1", "h1"), create("web2", "h1"), create("db1", "h2")};
        auto apply = vms.enqueue_apply(plan, site::Site{}, 5000);
        REQUIRE_MESSAGE(apply.is_ok(), apply.status().message());
        auto pending = vms.pending_for(h1);
        REQUIRE(pending.size() == 1);  // web2 runs after web1 (same host)
        web1 = pending[0].id;
        REQUIRE(vms.answer(web1, true, ""));  // web2 released
        web2 = vms.pending_for(h1).at(0).id;
        auto recalled = vms.recall("old");
        REQUIRE(recalled.is_ok());
        REQUIRE(recalled->size() == 1);
        // Gone without a word: the registry and its store connection are dropped here.
    }
    auto store = open_at(path);
    VmRegistry vms(*store);
    REQUIRE(vms.load());
    // web2 was handed to h1 and not answered: h1 gets it again, with the same id.
    auto pending = vms.pending_for(h1);
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].id == web2);
    CHECK(pending[0].vm.name == "web2");
    CHECK(pending[0].vm.template_ref == "debian@1");
    CHECK(pending[0].after == std::vector<ActionId>{web1});
    auto h2_pending = vms.pending_for(h2);
    REQUIRE(h2_pending.size() == 2);  // db1 and the recall of "old"
    CHECK(h2_pending[1].step.kind == reconcile::ActionKind::remove);
    // The answer given before the restart holds: answering web1 again is refused.
    CHECK(vms.answer(web1, true, "").code() == Code::illegal_transition);
    auto applies = vms.applies();
    REQUIRE(applies.size() == 1);
    CHECK(applies[0].state == "running");
    CHECK(applies[0].created_at == 5000);
    CHECK(applies[0].steps.at(0).state == ActionState::done);
    // The reports, with web1 as the done action left it until h1 reports again.
    auto reports = vms.reports();
    REQUIRE(reports.size() == 2);
    REQUIRE(reports[0].vms.size() == 1);
    CHECK(reports[0].vms[0].name == "web1");
    CHECK(reports[0].capacity.libvirt_uri == "test:///default");
    // A second apply is still refused while the first runs, and new ids never repeat old ones.
    reconcile::Plan again;
    again.actions = {create("web3", "h1")};
    CHECK(vms.enqueue_apply(again, site::Site{}, 6000).status().code() == Code::conflict);
    REQUIRE(vms.answer(web2, true, ""));
    REQUIRE(vms.answer(h2_pending[0].id, true, ""));
    REQUIRE(vms.answer(h2_pending[1].id, true, ""));
    CHECK(vms.applies()[0].state == "succeeded");
    auto next = vms.enqueue_apply(again, site::Site{}, 6000);
    REQUIRE(next.is_ok());
    CHECK(vms.pending_for(h1).at(0).id > h2_pending[1].id);
}

TEST_CASE(
    "VM registry: a changed report is stored before its answer; unchanged ones' times in "
    "batches") {
    testutil::TempDir dir;
    const auto path = dir / "inventory.db";
    auto store = open_at(path);
    const HostId h1 = add_host(*store, "52:54:00:00:00:01", "h1");
    // What a restart after a kill -9 reads: another connection to the same file.
    auto stored = [&](HostId host) {
        auto other = open_at(path);
        for (const HostReportRow& row : other->list_host_reports().value())
            if (row.host == host) return row;
        FAIL("no report of host " << host);
        return HostReportRow{};
    };
    VmRegistry vms(*store);
    REQUIRE(vms.load());
    HostReport r = report_of(h1, "h1");
    r.reported_at = 1000;
    REQUIRE(vms.report(r));
    CHECK(stored(h1).reported_at == 1000);
    // Changed: stored before report() returns.
    r.vms = {{"web1", 1, 128, "debian@1", "running"}};
    r.reported_at = 2000;
    REQUIRE(vms.report(r));
    CHECK(stored(h1).reported_at == 2000);
    CHECK(stored(h1).body.find("web1") != std::string::npos);
    // Unchanged: nothing written until a refresh is due, and then not at once.
    const Timestamp due = 2000 + VmRegistry::kReportRefresh;
    r.reported_at = due - 1;
    REQUIRE(vms.report(r));
    r.reported_at = due;
    REQUIRE(vms.report(r));
    CHECK(stored(h1).reported_at == 2000);
    // The window after the first refresh waiting has passed: written, with the latest time.
    r.reported_at = due + VmRegistry::kRefreshWindow;
    REQUIRE(vms.report(r));
    CHECK(stored(h1).reported_at == due + VmRegistry::kRefreshWindow);

    // kRefreshBatch hosts due: written together by the report that fills the batch.
    std::vector<HostId> hosts;
    for (std::size_t i = 0; i < VmRegistry::kRefreshBatch; ++i) {
        char mac[18];
        std::snprintf(mac, sizeof mac, "52:54:00:00:%02zx:%02zx", (i + 2) >> 8, (i + 2) & 255);
        hosts.push_back(add_host(*store, mac, ("b" + std::to_string(i)).c_str()));
        HostReport b = report_of(hosts.back(), "b" + std::to_string(i));
        b.reported_at = 100'000;
        REQUIRE(vms.report(b));
    }
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        if (i + 1 == hosts.size()) CHECK(stored(hosts.front()).reported_at == 100'000);
        HostReport b = report_of(hosts[i], "b" + std::to_string(i));
        b.reported_at = 100'000 + VmRegistry::kReportRefresh;
        REQUIRE(vms.report(b));
    }
    CHECK(stored(hosts.front()).reported_at == 100'000 + VmRegistry::kReportRefresh);
    CHECK(stored(hosts.back()).reported_at == 100'000 + VmRegistry::kReportRefresh);

    // A refresh waiting when the process dies is lost; the report's content is not.
    r.reported_at = due + VmRegistry::kRefreshWindow + VmRegistry::kReportRefresh;
    REQUIRE(vms.report(r));
    auto reopened = open_at(path);
    VmRegistry again(*reopened);
    REQUIRE(again.load());
    auto reports = again.reports();
    REQUIRE(reports.size() == 1 + hosts.size());
    CHECK(reports[0].reported_at == due + VmRegistry::kRefreshWindow);
    REQUIRE(reports[0].vms.size() == 1);
    CHECK(reports[0].vms[0].name == "web1");
}

TEST_CASE("VM registry: a change the store refuses is not kept in memory either") {
    auto opened = open_sqlite_store(":memory:");
    REQUIRE(opened.is_ok());
    Store& store = **opened;
    HostId h1 = add_host(store, "52:54:00:00:00:01", "h1");
    VmRegistry vms(store);
    // A report of a host the inventory lacks is refused and not remembered.
    CHECK(vms.report(report_of(h1 + 7, "ghost")).code() == Code::conflict);
    CHECK(vms.reports().empty());
    REQUIRE(vms.report(report_of(h1, "h1")));
    reconcile::Plan plan;
    plan.actions = {create("web1", "h1")};
    REQUIRE(vms.enqueue_apply(plan, site::Site{}, 1).is_ok());
    const ActionId id = vms.pending_for(h1).at(0).id;
    // The host goes (its report with it, in the store): the answer's effect on the report
    // cannot be written, so the answer fails and the action stays handed out.
    REQUIRE(store.remove_host(h1));
    CHECK_FALSE(vms.answer(id, true, "").is_ok());
    REQUIRE(vms.pending_for(h1).size() == 1);
    CHECK(vms.pending_for(h1)[0].state == ActionState::released);
    CHECK(vms.reports().empty());  // read back from the store, which no longer has it
}

TEST_CASE("service board: the desired services and the guests' reports outlive the process") {
    testutil::TempDir dir;
    const auto path = dir / "inventory.db";
    site::Site site;
    site::Vm web1;
    web1.name = "web1";
    web1.services = {{"nginx", {{"port", "8080"}}, 3}};
    site.vms.push_back(web1);
    {
        auto store = open_at(path);
        ServiceBoard board(*store);
        CHECK(*board.load() == false);  // nothing kept yet
        CHECK(*board.set_site(site) == std::vector<std::string>{"web1"});
        REQUIRE(board
                    .report("web1", "10.0.0.5",
                            {{"nginx", ServiceState::service_available, "", "10.0.0.5:8080"}}, 1000)
                    .is_ok());
    }
    auto store = open_at(path);
    ServiceBoard board(*store);
    CHECK(*board.load() == true);
    CHECK(board.changes(site).empty());
    auto view = board.view("web1", 2000);
    REQUIRE(view.has_value());
    CHECK(view->summary == ServiceState::service_available);
    CHECK(view->address == "10.0.0.5");
    CHECK(view->services.at(0).access == "10.0.0.5:8080");
    auto wanted = board.report("web1", "10.0.0.5", {}, 3000);
    REQUIRE(wanted.is_ok());
    REQUIRE(wanted->size() == 1);
    CHECK(wanted->at(0).parameters ==
          std::vector<std::pair<std::string, std::string>>{{"port", "8080"}});
}

TEST_CASE("disk transfers: received chunks and a complete disk outlive the process") {
    testutil::TempDir dir;
    const auto path = dir / "inventory.db";
    const auto moves = dir / "moves";
    const std::string a(1000, 'a'), b(500, 'b');
    {
        auto store = open_at(path);
        DiskTransfers disks(*store, moves);
        REQUIRE(disks.load());
        REQUIRE(disks.append("1-web1", 0, a));
        REQUIRE(disks.append("2-db1", 0, b));
        imaging::Sha256Stream h;
        h.update({reinterpret_cast<const std::uint8_t*>(b.data()), b.size()});
        REQUIRE(disks.complete("2-db1", b.size(), imaging::to_hex(h.finish())));
    }
    std::ofstream(moves / "9-orphan.disk") << "left by a server that died before its row";
    auto store = open_at(path);
    DiskTransfers disks(*store, moves);
    REQUIRE(disks.load());
    CHECK(disks.ids() == std::vector<std::string>{"1-web1", "2-db1"});
    CHECK_FALSE(std::filesystem::exists(moves / "9-orphan.disk"));
    CHECK(disks.info("1-web1")->size == 1000);
    CHECK_FALSE(disks.info("1-web1")->complete);
    CHECK(*disks.read("2-db1", 0, 100) == std::string(100, 'b'));
    // The incomplete one goes on where it was, hashed across the restart.
    CHECK(disks.append("1-web1", 0 + 999, "x").code() == Code::invalid_argument);
    REQUIRE(disks.append("1-web1", 1000, a));
    imaging::Sha256Stream h;
    const std::string both = a + a;
    h.update({reinterpret_cast<const std::uint8_t*>(both.data()), both.size()});
    REQUIRE(disks.complete("1-web1", both.size(), imaging::to_hex(h.finish())));
    disks.remove("2-db1");
    auto rows = store->list_disk_transfers();
    REQUIRE(rows->size() == 1);
    CHECK(rows->at(0).complete);
    CHECK_FALSE(std::filesystem::exists(moves / "2-db1.disk"));
}
