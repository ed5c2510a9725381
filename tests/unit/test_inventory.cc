// The inventory: MACs, the lifecycle table, the Store conformance suite (transitions write
// events, uniqueness, durability across reopen, crash recovery: each STORE_TEST runs on SQLite
// and on PostgreSQL, store_sites.h) and the SQLite file's own cases (WAL, schema versioning,
// corruption).
#include <doctest/doctest.h>
#include <sqlite3.h>

#include "provisioner/lifecycle.h"
#include "provisioner/mac.h"
#include "provisioner/recovery.h"
#include "provisioner/selector.h"
#include "provisioner/store.h"
#include "store_sites.h"
#include "test_util.h"

using namespace provisioner;

namespace {

Mac mac(const char* text) {
    return *Mac::parse(text);
}

HostSpec spec(const char* m, const char* name, const char* rack = "r1") {
    return HostSpec{mac(m), name, "", rack};
}

}  // namespace

TEST_CASE("inventory: MAC parsing and normalisation") {
    CHECK(mac("AA-BB-CC-00-11-22").str() == "aa:bb:cc:00:11:22");
    CHECK(mac(" 52:54:00:Ab:cD:ef ").str() == "52:54:00:ab:cd:ef");
    for (const char* bad :
         {"", "52:54:00:ab:cd", "52:54:00:ab:cd:ef:01", "52-54:00:ab:cd:ef", "52:54:00:ab:cd:eg",
          "5254.00ab.cdef", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01"}) {
        auto m = Mac::parse(bad);
        CHECK_MESSAGE(!m.is_ok(), bad);
        CHECK(m.status().code() == Code::invalid_argument);
        CHECK(m.status().message().find("bad MAC") != std::string::npos);
    }
}

TEST_CASE("inventory: the lifecycle table") {
    using S = HostState;
    for (S s : all_host_states()) CHECK(parse_host_state(to_string(s)) == s);
    CHECK(!parse_host_state("Ready"));
    // The happy path of DESIGN.md, step by step.
    const S path[] = {S::discovered, S::enrolled, S::booting, S::imaging, S::imaged, S::ready};
    for (std::size_t i = 0; i + 1 < std::size(path); ++i)
        CHECK(is_legal_transition(path[i], path[i + 1]));
    CHECK(!is_legal_transition(S::enrolled, S::imaging));  // no skipping
    CHECK(!is_legal_transition(S::ready, S::discovered));
    CHECK(!is_legal_transition(S::retired, S::booting));
    // A host whose Dom0 agent falls silent, and comes back.
    CHECK(is_legal_transition(S::ready, S::unreachable));
    CHECK(is_legal_transition(S::unreachable, S::ready));
    CHECK(is_deployable(S::unreachable));
    CHECK(!is_legal_transition(S::imaging, S::unreachable));
    for (S s : all_host_states()) CHECK(!is_legal_transition(s, s));
    Status bad = check_transition(S::ready, S::imaging);
    CHECK(bad.code() == Code::illegal_transition);
    CHECK(bad.message() == "illegal transition ready -> imaging");
    // Deployable: what may go to booting, including a failed (interrupted) host.
    CHECK(is_deployable(S::enrolled));
    CHECK(is_deployable(S::failed));
    CHECK(is_deployable(S::ready));
    CHECK(!is_deployable(S::discovered));
    CHECK(!is_deployable(S::retired));
    CHECK(!is_deployable(S::imaging));
}

TEST_CASE("inventory: selectors") {
    CHECK(parse_selector("all")->name_glob == std::nullopt);
    CHECK(parse_selector("web-*")->name_glob == "web-*");
    auto f = parse_selector("rack=r2, state=failed,name=db?");
    REQUIRE(f.is_ok());
    CHECK(f->rack == "r2");
    CHECK(f->state == HostState::failed);
    CHECK(f->name_glob == "db?");
    CHECK(parse_selector("colour=red").status().message().find("unknown key") != std::string::npos);
    CHECK(!parse_selector("state=flying").is_ok());
    CHECK(!parse_selector("").is_ok());
    CHECK(!parse_selector("image=x").is_ok());
}

STORE_TEST("inventory: hosts CRUD, uniqueness and filters") {
    auto store = site.open();
    auto a = store->add_host(spec("52:54:00:00:00:01", "web-1"), HostState::enrolled, "operator");
    REQUIRE(a.is_ok());
    REQUIRE(store->add_host(spec("52:54:00:00:00:02", "web-2", "r2"), HostState::enrolled, "op"));
    REQUIRE(store->add_host(spec("52:54:00:00:00:03", "db-1"), HostState::discovered, "pxe"));

    auto dup = store->add_host(spec("52-54-00-00-00-01", "other"), HostState::enrolled, "op");
    CHECK(dup.status().code() == Code::conflict);
    CHECK(dup.status().message() == "MAC 52:54:00:00:00:01 is already enrolled as web-1");
    CHECK(store->add_host(spec("52:54:00:00:00:09", "web-1"), HostState::enrolled, "op")
              .status()
              .code() == Code::conflict);
    CHECK(store->add_host(spec("52:54:00:00:00:09", "bad name"), HostState::enrolled, "op")
              .status()
              .code() == Code::invalid_argument);
    CHECK(store->add_host(spec("52:54:00:00:00:09", "x"), HostState::ready, "op").status().code() ==
          Code::invalid_argument);

    CHECK(store->find_host(mac("52:54:00:00:00:02"))->name == "web-2");
    CHECK(store->find_host(mac("52:54:00:00:00:99")).status().code() == Code::not_found);
    CHECK(store->count_hosts({}).value() == 3);

    auto web = store->list_hosts(*parse_selector("web-*"));
    REQUIRE(web.is_ok());
    REQUIRE(web->size() == 2);
    CHECK((*web)[0].name == "web-1");
    CHECK(store->list_hosts(*parse_selector("rack=r1"))->size() == 2);
    CHECK(store->list_hosts(*parse_selector("state=discovered"))->front().name == "db-1");
    HostFilter page;
    page.limit = 1;
    page.offset = 1;
    CHECK(store->list_hosts(page)->front().name == "web-1");  // by name: db-1, web-1, web-2

    Host h = *a;
    h.ip = "10.0.0.5";
    h.facts_json = R"({"cpus":8})";
    h.state = HostState::ready;  // ignored: only transition() changes the state
    REQUIRE(store->update_host(h));
    auto again = store->get_host(h.id);
    CHECK(again->ip == "10.0.0.5");
    CHECK(again->facts_json == R"({"cpus":8})");
    CHECK(again->state == HostState::enrolled);
    h.ip = "10.0.0.300";
    CHECK(store->update_host(h).code() == Code::invalid_argument);

    REQUIRE(store->remove_host(h.id));
    CHECK(store->get_host(h.id).status().code() == Code::not_found);
    // The removed host's events stay readable by MAC.
    auto events = store->list_events({});
    CHECK(events->front().mac == "52:54:00:00:00:01");
    CHECK(!events->front().host);
}

STORE_TEST("inventory: every transition writes exactly one event, illegal ones write nothing") {
    auto store = site.open();
    auto host = store->add_host(spec("52:54:00:00:00:01", "h1"), HostState::discovered, "pxe boot");
    REQUIRE(host.is_ok());
    const HostId id = host->id;
    EventFilter mine;
    mine.host = id;
    CHECK(store->list_events(mine)->size() == 1);

    const std::pair<HostState, const char*> steps[] = {
        {HostState::enrolled, "accepted by operator"},
        {HostState::booting, "deployment 1"},
        {HostState::imaging, "agent hello"},
        {HostState::failed, "disk error"},
        {HostState::booting, "retry"},
        {HostState::imaging, "agent hello"},
        {HostState::imaged, "sha256 ok"},
        {HostState::ready, "dom0 agent"},
        {HostState::retired, "decommissioned"}};
    HostState from = HostState::discovered;
    std::size_t expected = 1;
    for (auto [to, reason] : steps) {
        auto e = store->transition(id, to, reason);
        REQUIRE_MESSAGE(e.is_ok(), e.status().message());
        CHECK(e->from == from);
        CHECK(e->to == to);
        CHECK(e->reason == reason);
        CHECK(store->get_host(id)->state == to);
        CHECK(store->list_events(mine)->size() == ++expected);
        from = to;
    }
    auto illegal = store->transition(id, HostState::imaging, "nope");
    CHECK(illegal.status().code() == Code::illegal_transition);
    CHECK(illegal.status().message() == "host h1: illegal transition retired -> imaging");
    CHECK(store->get_host(id)->state == HostState::retired);
    CHECK(store->list_events(mine)->size() == expected);

    auto log = store->list_events(mine);
    CHECK(!log->front().from);
    CHECK(log->front().to == HostState::discovered);
    CHECK(log->back().reason == "decommissioned");
    CHECK(log->back().time > log->front().time);
    EventFilter last2 = mine;
    last2.limit = 2;
    CHECK(store->list_events(last2)->back().to == HostState::retired);
    CHECK(store->transition(999, HostState::booting, "x").status().code() == Code::not_found);
}

STORE_TEST("inventory: a failed transaction leaves nothing behind") {
    auto store = site.open();
    Status s = store->transaction([&]() -> Status {
        REQUIRE(store->add_host(spec("52:54:00:00:00:01", "h1"), HostState::enrolled, "x"));
        return Status::error(Code::invalid_argument, "changed my mind");
    });
    CHECK(!s.is_ok());
    CHECK(store->count_hosts({}).value() == 0);
    CHECK(store->list_events({})->empty());
}

STORE_TEST("inventory: images and deployments") {
    auto store = site.open();
    Image img;
    img.name = "dom0";
    img.version = "1.0";
    img.raw_size = 1 << 30;
    img.path = "/var/lib/provisioner/images/dom0-1.0";
    auto added = store->add_image(img);
    REQUIRE(added.is_ok());
    CHECK(store->add_image(img).status().code() == Code::conflict);
    CHECK(store->find_image("dom0", "1.0")->id == added->id);
    auto h1 = store->add_host(spec("52:54:00:00:00:01", "h1"), HostState::enrolled, "x");
    auto h2 = store->add_host(spec("52:54:00:00:00:02", "h2"), HostState::enrolled, "x");
    auto d = store->create_deployment(added->id, Transport::multicast, {h1->id, h2->id});
    REQUIRE_MESSAGE(d.is_ok(), d.status().message());
    CHECK(store->create_deployment(added->id, Transport::delta, {h1->id, h1->id}).status().code() ==
          Code::invalid_argument);
    CHECK(store->create_deployment(777, Transport::delta, {h1->id}).status().code() ==
          Code::not_found);
    auto targets = store->list_targets(d->id);
    REQUIRE(targets->size() == 2);
    DeploymentTarget t = targets->front();
    CHECK(t.state == TargetState::pending);
    t.state = TargetState::running;
    t.bytes_done = 512;
    t.bytes_total = 1024;
    t.started_at = store->now();
    REQUIRE(store->update_target(t));
    CHECK(store->list_targets(d->id)->front().bytes_done == 512);
    CHECK(store->remove_image(added->id).code() == Code::conflict);  // a deployment uses it
    REQUIRE(store->set_deployment_state(d->id, DeploymentState::succeeded));
    CHECK(store->get_deployment(d->id)->finished_at.has_value());
}

STORE_TEST("inventory: operator tokens by hash; settings keep their first value") {
    auto store = site.open();
    auto t = store->add_api_token("ci", "aa11");
    REQUIRE(t.is_ok());
    CHECK(store->add_api_token("ci", "bb22").status().code() == Code::conflict);
    CHECK(store->add_api_token("other", "aa11").status().code() == Code::conflict);
    CHECK(store->find_api_token("aa11")->name == "ci");
    CHECK(store->find_api_token("cc33").status().code() == Code::not_found);
    CHECK(store->list_api_tokens()->size() == 1);
    CHECK(store->get_setting("secret").status().code() == Code::not_found);
    CHECK(*store->set_setting_once("secret", "first") == "first");
    CHECK(*store->set_setting_once("secret", "second") == "first");
    CHECK(*store->get_setting("secret") == "first");
}

STORE_TEST("inventory: revoking operator tokens; never the last one") {
    auto store = site.open();
    REQUIRE(store->add_api_token("admin", "aa11").is_ok());
    REQUIRE(store->add_api_token("ci", "bb22").is_ok());
    auto unknown = store->remove_api_token("nobody");
    CHECK(unknown.status().code() == Code::not_found);
    CHECK(unknown.status().message() == "no operator token named nobody");

    auto removed = store->remove_api_token("ci");
    REQUIRE(removed.is_ok());
    CHECK(removed->name == "ci");
    CHECK(removed->token_sha256 == "bb22");
    CHECK(store->find_api_token("bb22").status().code() == Code::not_found);
    CHECK(store->remove_api_token("ci").status().code() == Code::not_found);

    auto last = store->remove_api_token("admin");
    CHECK(last.status().code() == Code::conflict);
    CHECK(last.status().message().starts_with("admin is the last operator token"));
    CHECK(store->find_api_token("aa11")->name == "admin");
    REQUIRE(store->list_api_tokens()->size() == 1);

    // A revoked name is free again, with a new secret.
    REQUIRE(store->add_api_token("ci", "cc33").is_ok());
    CHECK(store->remove_api_token("admin").is_ok());
    CHECK(store->list_api_tokens()->front().name == "ci");
}

STORE_TEST("inventory: a token revoked in a database made earlier stays revoked after reopen") {
    {
        auto store = site.open();
        REQUIRE(store->add_api_token("admin", "aa11").is_ok());
        REQUIRE(store->add_api_token("ci", "bb22").is_ok());
    }
    {
        auto store = site.open();
        CHECK(store->remove_api_token("ci").is_ok());
    }
    auto store = site.open();
    CHECK(store->find_api_token("bb22").status().code() == Code::not_found);
    CHECK(store->remove_api_token("admin").status().code() == Code::conflict);
}

TEST_CASE("inventory: WAL file database survives close and reopen") {
    testutil::TempDir dir;
    const auto path = dir / "inventory.db";
    HostId id = 0;
    {
        auto store = open_sqlite_store(path);
        REQUIRE_MESSAGE(store.is_ok(), store.status().message());
        auto h = (*store)->add_host(spec("52:54:00:00:00:01", "h1"), HostState::enrolled, "op");
        REQUIRE(h.is_ok());
        id = h->id;
        REQUIRE((*store)->transition(id, HostState::booting, "deploy"));
    }
    CHECK(std::filesystem::exists(path));
    {
        sqlite3* raw = nullptr;
        REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
        sqlite3_stmt* st = nullptr;
        sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, nullptr);
        REQUIRE(sqlite3_step(st) == SQLITE_ROW);
        CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) == "wal");
        sqlite3_finalize(st);
        sqlite3_prepare_v2(raw, "SELECT max(version) FROM schema_version", -1, &st, nullptr);
        REQUIRE(sqlite3_step(st) == SQLITE_ROW);
        CHECK(sqlite3_column_int(st, 0) == current_schema_version());
        sqlite3_finalize(st);
        sqlite3_close(raw);
    }
    auto store = open_sqlite_store(path);
    REQUIRE(store.is_ok());
    CHECK((*store)->get_host(id)->state == HostState::booting);
    CHECK((*store)->list_events({})->size() == 2);
    CHECK((*store)->integrity_check().is_ok());
}

namespace {

// The CREATE text of table as the file at path holds it.
std::string sqlite_table_sql(const std::filesystem::path& path, const char* table) {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(raw, "SELECT sql FROM sqlite_master WHERE name = ?", -1, &st,
                               nullptr) == SQLITE_OK);
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    std::string sql;
    if (sqlite3_step(st) == SQLITE_ROW)
        sql = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(raw);
    return sql;
}

}  // namespace

// Migration 8 (ids never reused) rebuilds hosts, images, templates and api_tokens with
// AUTOINCREMENT: a database made by the previous schema (the released migrations 1-7) keeps
// every row, every row referring to them (no cascade), its indexes and its constraints.
TEST_CASE("inventory: a database of schema 7 migrates to ids never reused, losing no row") {
    testutil::TempDir dir;
    const auto path = dir / "inventory.db";
    HostId h1 = 0, h2 = 0, h3 = 0;
    ImageId image = 0;
    DeploymentId deployment = 0;
    std::size_t events = 0;
    {
        SqliteOptions v7;
        v7.schema_version_limit = 7;
        auto opened = open_sqlite_store(path, v7);
        REQUIRE_MESSAGE(opened.is_ok(), opened.status().message());
        Store& store = **opened;
        Image img;
        img.name = "dom0";
        img.version = "1";
        img.raw_size = 1 << 20;
        img.path = "/i/dom0-1";
        image = store.add_image(img)->id;
        h1 = store.add_host(spec("52:54:00:00:00:01", "h1"), HostState::enrolled, "op")->id;
        h2 = store.add_host(spec("52:54:00:00:00:02", "h2"), HostState::enrolled, "op")->id;
        h3 = store.add_host(spec("52:54:00:00:00:03", "h3"), HostState::enrolled, "op")->id;
        Host with_image = *store.get_host(h1);
        with_image.image = image;
        REQUIRE(store.update_host(with_image));
        auto d = store.create_deployment(image, Transport::delta, {h1, h2});
        REQUIRE(d);
        deployment = d->id;
        REQUIRE(store.transition(h1, HostState::booting, "deploy"));
        Template base;
        base.name = "debian";
        base.version = "12";
        base.format = "qcow2";
        base.size = 1 << 20;
        base.path = "/t/debian-12.qcow2";
        base.labels = {"stable"};
        REQUIRE(store.add_template(base));
        Template web = base;
        web.name = "web";
        web.version = "1";
        web.backing = "debian@12";
        web.labels = {"http"};
        REQUIRE(store.add_template(web));
        REQUIRE(store.add_api_token("first", std::string(64, '1')));
        REQUIRE(store.put_host_report({h2, 5, "{}"}));
        REQUIRE(store.put_host_bmc({h2, 5, "{}"}));
        // A VM action of a host removed long ago (vm_actions.host_id has no foreign key).
        REQUIRE(store.put_vm_action({1, 0, 9, "done", "{}"}));
        REQUIRE(store.remove_host(h3));  // the newest: its id is taken once more below
        events = store.list_events({})->size();
    }
    CHECK(sqlite_table_sql(path, "hosts").find("AUTOINCREMENT") == std::string::npos);

    auto opened = open_sqlite_store(path);
    REQUIRE_MESSAGE(opened.is_ok(), opened.status().message());
    Store& store = **opened;
    for (const char* table : {"hosts", "images", "templates", "api_tokens"})
        CHECK_MESSAGE(sqlite_table_sql(path, table).find("id INTEGER PRIMARY KEY AUTOINCREMENT,") !=
                          std::string::npos,
                      table);
    CHECK(sqlite_table_sql(path, "hosts").find("'unreachable'") != std::string::npos);
    for (const char* index : {"hosts_rack", "hosts_state", "hosts_image", "templates_backing"})
        CHECK_MESSAGE(!sqlite_table_sql(path, index).empty(), index);
    CHECK_FALSE(sqlite_table_sql(path, "hosts_autoincrement").size());
    // Every row, and every row referring to them.
    CHECK(store.count_hosts({}).value() == 2);
    CHECK(store.get_host(h1)->state == HostState::booting);
    CHECK(store.get_host(h1)->image == image);
    CHECK(store.list_targets(deployment)->size() == 2);
    CHECK(store.list_events({})->size() == events);
    CHECK(store.list_host_reports()->size() == 1);
    CHECK(store.list_host_bmcs()->size() == 1);
    CHECK(store.find_template("web", "1")->backing == "debian@12");
    CHECK(store.find_template("web", "1")->labels == std::vector<std::string>{"http"});
    CHECK(store.list_api_tokens()->size() == 1);
    CHECK(store.list_images()->size() == 1);
    // The constraints hold: foreign keys are on again, the CHECKs are there.
    CHECK(store.remove_image(image).code() == Code::conflict);
    CHECK(store.integrity_check().is_ok());
    // New ids: above the VM action's host 9, and then never a deleted one's.
    auto h4 = store.add_host(spec("52:54:00:00:00:04", "h4"), HostState::enrolled, "op");
    REQUIRE(h4);
    CHECK(h4->id == 10);
    REQUIRE(store.remove_host(h4->id));
    auto h5 = store.add_host(spec("52:54:00:00:00:05", "h5"), HostState::enrolled, "op");
    REQUIRE(h5);
    CHECK(h5->id == 11);
}

TEST_CASE("inventory: a database from a newer build is refused") {
    testutil::TempDir dir;
    const auto path = dir / "inventory.db";
    REQUIRE(open_sqlite_store(path).is_ok());
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
    REQUIRE(sqlite3_exec(raw, "INSERT INTO schema_version VALUES (999, 0)", nullptr, nullptr,
                         nullptr) == SQLITE_OK);
    sqlite3_close(raw);
    auto again = open_sqlite_store(path);
    REQUIRE(!again.is_ok());
    CHECK(again.status().message().find("newer than this build") != std::string::npos);
}

TEST_CASE("inventory: a corrupt file is refused on open") {
    testutil::TempDir dir;
    const auto path = dir / "inventory.db";
    testutil::write_file(path, testutil::random_bytes(8192, 7));
    auto store = open_sqlite_store(path);
    CHECK(!store.is_ok());
    CHECK(store.status().code() == Code::storage);
}

STORE_TEST("inventory: recovery after a crash marks interrupted hosts failed and deployable") {
    HostId booting = 0, imaging = 0, done = 0, idle = 0;
    DeploymentId dep = 0;
    {
        auto opened = site.open();
        Store& store = *opened;
        Image img;
        img.name = "dom0";
        img.version = "1";
        const ImageId image = store.add_image(img)->id;
        booting = store.add_host(spec("52:54:00:00:00:01", "h1"), HostState::enrolled, "x")->id;
        imaging = store.add_host(spec("52:54:00:00:00:02", "h2"), HostState::enrolled, "x")->id;
        done = store.add_host(spec("52:54:00:00:00:03", "h3"), HostState::enrolled, "x")->id;
        idle = store.add_host(spec("52:54:00:00:00:04", "h4"), HostState::enrolled, "x")->id;
        dep = store.create_deployment(image, Transport::delta, {booting, imaging, done})->id;
        for (HostId h : {booting, imaging, done})
            REQUIRE(store.transition(h, HostState::booting, "d"));
        for (HostId h : {imaging, done}) REQUIRE(store.transition(h, HostState::imaging, "hello"));
        REQUIRE(store.transition(done, HostState::imaged, "sha256 ok"));
        for (DeploymentTarget t : *store.list_targets(dep)) {
            t.state = t.host == done ? TargetState::succeeded : TargetState::running;
            REQUIRE(store.update_target(t));
        }
        // The server dies here: no clean shutdown beyond closing the handle.
    }
    auto opened = site.open();
    Store& store = *opened;
    auto report = recover_interrupted(store);
    REQUIRE_MESSAGE(report.is_ok(), report.status().message());
    CHECK(report->hosts_failed == std::vector<HostId>{booting, imaging});
    CHECK(report->deployments_interrupted == std::vector<DeploymentId>{dep});
    for (HostId h : {booting, imaging}) {
        auto host = store.get_host(h);
        CHECK(host->state == HostState::failed);
        CHECK(is_deployable(host->state));
        EventFilter f;
        f.host = h;
        CHECK(store.list_events(f)->back().reason == kInterruptedReason);
        REQUIRE(store.transition(h, HostState::booting, "deployment 2"));  // deployable again
    }
    CHECK(store.get_host(done)->state == HostState::imaged);
    CHECK(store.get_host(idle)->state == HostState::enrolled);
    CHECK(store.get_deployment(dep)->state == DeploymentState::interrupted);
    for (const DeploymentTarget& t : *store.list_targets(dep)) {
        if (t.host == done) {
            CHECK(t.state == TargetState::succeeded);
        } else {
            CHECK(t.state == TargetState::failed);
            CHECK(t.error == kInterruptedReason);
        }
    }
    // Idempotent: a second start finds nothing more to do.
    auto twice = recover_interrupted(store);
    CHECK(twice->deployments_interrupted.empty());
}
