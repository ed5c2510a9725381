// The Store conformance suite, continued: what servers sharing one database rely on (two
// connections see each other's commits, data_version() moves with every commit of either,
// concurrent writers never hand out an id twice), the template catalog, host name globs; and
// PostgreSQL's own schema versioning. Each STORE_TEST runs on SQLite and on PostgreSQL.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "provisioner/pg_store.h"
#include "provisioner/selector.h"
#include "provisioner/store.h"
#include "store_sites.h"

using namespace provisioner;

namespace {

HostSpec spec(const std::string& mac, const std::string& name, const std::string& rack = "r1") {
    auto m = Mac::parse(mac);
    REQUIRE(m.is_ok());
    return HostSpec{*m, name, "", rack};
}

std::string mac_of(int i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "52:54:00:00:%02x:%02x", (i >> 8) & 0xff, i & 0xff);
    return buf;
}

}  // namespace

STORE_TEST("store: two connections see each other's commits; data_version moves with each") {
    auto a = site.open();
    auto b = site.open();
    const auto v0 = b->data_version();
    REQUIRE(v0.has_value());
    CHECK(b->data_version() == v0);  // reads change nothing
    REQUIRE(b->list_hosts({}).is_ok());
    CHECK(b->data_version() == v0);

    auto host = a->add_host(spec("52:54:00:00:00:01", "h1"), HostState::enrolled, "by a");
    REQUIRE(host.is_ok());
    const auto v1 = b->data_version();
    REQUIRE(v1.has_value());
    CHECK(v1 != v0);
    REQUIRE(b->list_hosts({})->size() == 1);
    CHECK(b->find_host_by_name("h1")->id == host->id);

    // Versions are compared on one store: SQLite's count per connection.
    const auto va = a->data_version();
    REQUIRE(b->transition(host->id, HostState::booting, "deployment by b"));
    CHECK(a->data_version() != va);
    CHECK(a->get_host(host->id)->state == HostState::booting);
    auto events = a->list_events({});
    REQUIRE(events->size() == 2);
    CHECK(events->back().reason == "deployment by b");

    // A transaction that fails writes nothing and changes no version.
    const auto v2 = a->data_version();
    Status s = b->transaction([&]() -> Status {
        REQUIRE(b->add_host(spec("52:54:00:00:00:02", "h2"), HostState::enrolled, "x"));
        CHECK(!b->data_version().has_value());  // inside its own transaction: cannot tell
        return Status::error(Code::invalid_argument, "changed my mind");
    });
    CHECK(!s.is_ok());
    CHECK(a->data_version() == v2);
    CHECK(a->count_hosts({}).value() == 1);

    // A token revoked through one is refused through the other from the next call on.
    REQUIRE(a->add_api_token("admin", "aa11"));
    REQUIRE(a->add_api_token("ci", "bb22"));
    CHECK(b->find_api_token("bb22")->name == "ci");
    REQUIRE(a->remove_api_token("ci"));
    CHECK(b->find_api_token("bb22").status().code() == Code::not_found);
    CHECK(b->remove_api_token("admin").status().code() == Code::conflict);
}

STORE_TEST("store: concurrent writers on two connections never hand out an id twice") {
    auto a = site.open(&base::real_clock());
    auto b = site.open(&base::real_clock());
    auto h0 = a->add_host(spec("52:54:00:00:00:01", "h0"), HostState::enrolled, "x");
    REQUIRE(h0.is_ok());
    constexpr int kEach = 40;
    std::vector<std::int64_t> ids[2];
    std::vector<HostId> hosts[2];
    std::vector<Status> failures[2];
    auto work = [&](Store& store, int who) {
        for (int i = 0; i < kEach; ++i) {
            auto id = store.allocate_ids("vm_action", 2);
            if (!id)
                failures[who].push_back(id.status());
            else
                ids[who].push_back(*id);
            const int n = 2 + who * kEach + i;
            auto h = store.add_host(spec(mac_of(n), "h" + std::to_string(n)), HostState::enrolled,
                                    "writer " + std::to_string(who));
            if (!h)
                failures[who].push_back(h.status());
            else
                hosts[who].push_back(h->id);
            Event e;
            e.reason = "note";
            if (auto ev = store.log_event(e); !ev) failures[who].push_back(ev.status());
        }
    };
    std::thread ta(work, std::ref(*a), 0);
    std::thread tb(work, std::ref(*b), 1);
    ta.join();
    tb.join();
    for (const auto& f : failures)
        for (const Status& s : f) FAIL_CHECK(s.message());
    std::set<std::int64_t> all_ids;
    for (const auto& v : ids)
        for (std::int64_t id : v) {
            CHECK(all_ids.insert(id).second);
            CHECK(all_ids.insert(id + 1).second);
        }
    CHECK(all_ids.size() == 4 * kEach);
    CHECK(*all_ids.begin() == 1);
    CHECK(*all_ids.rbegin() == 4 * kEach);
    std::set<HostId> all_hosts(hosts[0].begin(), hosts[0].end());
    all_hosts.insert(hosts[1].begin(), hosts[1].end());
    CHECK(all_hosts.size() == 2 * kEach);
    auto events = a->list_events({});
    REQUIRE(events.is_ok());
    CHECK(events->size() == 1 + 4 * kEach);
    std::set<EventId> event_ids;
    for (const Event& e : *events) event_ids.insert(e.id);
    CHECK(event_ids.size() == events->size());
    // Both add the same MAC: exactly one wins, the other gets conflict.
    auto same_a = std::async(std::launch::async, [&] {
        return a->add_host(spec("52:54:00:00:ff:ff", "twin-a"), HostState::enrolled, "a");
    });
    auto same_b = b->add_host(spec("52:54:00:00:ff:ff", "twin-b"), HostState::enrolled, "b");
    auto first = same_a.get();
    CHECK(first.is_ok() != same_b.is_ok());
    CHECK((first.is_ok() ? same_b : first).status().code() == Code::conflict);
}

STORE_TEST("store: host name globs; listings ordered by name byte by byte") {
    auto store = site.open();
    int i = 0;
    for (const char* n : {"web-2", "web-10", "Web-3", "db.1", "dbx1", "web-1"}) {
        REQUIRE(store->add_host(spec(mac_of(100 + ++i), n), HostState::enrolled, "x"));
    }
    auto names = [&](const char* selector) {
        std::vector<std::string> out;
        auto hosts = store->list_hosts(*parse_selector(selector));
        REQUIRE_MESSAGE(hosts.is_ok(), hosts.status().message());
        for (const Host& h : *hosts) out.push_back(h.name);
        return out;
    };
    using V = std::vector<std::string>;
    CHECK(names("all") == V{"Web-3", "db.1", "dbx1", "web-1", "web-10", "web-2"});
    CHECK(names("web-*") == V{"web-1", "web-10", "web-2"});
    CHECK(names("web-?") == V{"web-1", "web-2"});
    CHECK(names("db.1") == V{"db.1"});  // '.' is itself, not any character
    CHECK(names("web-[12]") == V{"web-1", "web-2"});
    CHECK(names("*-1*") == V{"web-1", "web-10"});
    HostFilter counted = *parse_selector("web-*");
    counted.limit = 1;
    CHECK(store->count_hosts(counted).value() == 3);  // count ignores the limit
    CHECK(store->list_hosts(counted)->size() == 1);
}

STORE_TEST("store: templates, their backing chain and labels") {
    auto store = site.open();
    Template base;
    base.name = "debian";
    base.version = "12";
    base.format = "qcow2";
    base.size = 1 << 20;
    base.path = "/t/debian-12.qcow2";
    base.labels = {"stable", "base", "stable"};
    auto added = store->add_template(base);
    REQUIRE_MESSAGE(added.is_ok(), added.status().message());
    CHECK(store->add_template(base).status().code() == Code::conflict);
    Template web = base;
    web.name = "web";
    web.version = "1";
    web.backing = "debian@12";
    web.labels = {"http"};
    auto web_added = store->add_template(web);
    REQUIRE(web_added.is_ok());
    Template orphan = web;
    orphan.version = "2";
    orphan.backing = "nothing@1";
    CHECK(store->add_template(orphan).status().code() == Code::not_found);
    auto found = store->find_template("debian", "12");
    REQUIRE(found.is_ok());
    CHECK(found->labels == std::vector<std::string>{"base", "stable"});
    CHECK(store->find_template("web", "1")->backing == "debian@12");
    REQUIRE(store->set_template_labels(added->id, {"old"}));
    REQUIRE(store->mark_template_used(added->id, 4242));
    auto list = store->list_templates();
    REQUIRE(list->size() == 2);
    CHECK(list->front().labels == std::vector<std::string>{"old"});
    CHECK(list->front().last_used_at == 4242);
    CHECK(store->remove_template(added->id).code() == Code::conflict);  // web is backed by it
    REQUIRE(store->remove_template(web_added->id));
    REQUIRE(store->remove_template(added->id));
    CHECK(store->remove_template(added->id).code() == Code::not_found);
    CHECK(store->set_template_labels(added->id, {"x"}).code() == Code::not_found);
}

TEST_CASE("store (postgresql): a database from a newer build is refused") {
    auto site = testutil::postgres_site();
    REQUIRE(site->open()->integrity_check());
    testutil::postgres_exec(*site, "INSERT INTO schema_version VALUES (999, 0)");
    auto again = site->try_open();
    REQUIRE(!again.is_ok());
    CHECK(again.status().code() == Code::storage);
    CHECK(again.status().message().find("newer than this build") != std::string::npos);
}

TEST_CASE("store (postgresql): an unreachable server is a storage error naming it") {
    auto store = open_postgres_store("postgresql:///x?host=/nonexistent-provisioner-dir");
    REQUIRE(!store.is_ok());
    CHECK(store.status().code() == Code::storage);
    CHECK(store.status().message().find("/nonexistent-provisioner-dir") != std::string::npos);
    CHECK(is_postgres_url("postgresql://db.example/provisioner"));
    CHECK(is_postgres_url("postgres://u@h/d"));
    CHECK(!is_postgres_url("/var/lib/provisioner/inventory.db"));
    CHECK(!is_postgres_url("postgresql.db"));
}

STORE_TEST("store: settings deleted; keys listed by prefix, byte by byte, from any connection") {
    auto a = site.open();
    auto b = site.open();
    for (const char* key : {"image-delta-servers:s2", "image-delta-servers:s1",
                            "rack-deliveries:s1", "image-delta-serversX", "image_delta_servers:s3",
                            "a%b", "axb", "caf\xc3\xa9:1", "caf\xc3\xa9"})
        REQUIRE(a->set_setting(key, std::string("v-") + key));
    CHECK(*b->list_setting_keys("image-delta-servers:") ==
          std::vector<std::string>{"image-delta-servers:s1", "image-delta-servers:s2"});
    // No pattern: '_' and '%' match only themselves.
    CHECK(*b->list_setting_keys("image_") == std::vector<std::string>{"image_delta_servers:s3"});
    CHECK(*b->list_setting_keys("a%") == std::vector<std::string>{"a%b"});
    CHECK(*b->list_setting_keys("caf\xc3\xa9:") == std::vector<std::string>{"caf\xc3\xa9:1"});
    CHECK(b->list_setting_keys("nothing:")->empty());
    CHECK(b->list_setting_keys("")->size() == 9);

    REQUIRE(b->delete_setting("image-delta-servers:s1"));
    CHECK(a->get_setting("image-delta-servers:s1").status().code() == Code::not_found);
    CHECK(*a->get_setting("image-delta-servers:s2") == "v-image-delta-servers:s2");
    CHECK(*a->list_setting_keys("image-delta-servers:") ==
          std::vector<std::string>{"image-delta-servers:s2"});
    CHECK(b->delete_setting("image-delta-servers:s1"));  // gone already: still ok
    CHECK(b->delete_setting("never-set"));
    // A deleted key can be set once again, afresh.
    CHECK(*a->set_setting_once("image-delta-servers:s1", "again") == "again");
    // Inside a transaction, a delete rolls back with it.
    Status rolled = a->transaction([&]() -> Status {
        if (Status s = a->delete_setting("rack-deliveries:s1"); !s) return s;
        return Status::error("give up");
    });
    CHECK_FALSE(rolled);
    CHECK(*b->get_setting("rack-deliveries:s1") == "v-rack-deliveries:s1");
}

STORE_TEST("store: per-host settings of absent hosts deleted, a present host's kept") {
    auto a = site.open();
    auto b = site.open();
    auto h1 = a->add_host(spec(mac_of(1), "h1"), HostState::enrolled, "test");
    auto h2 = a->add_host(spec(mac_of(2), "h2"), HostState::enrolled, "test");
    REQUIRE(h1.is_ok());
    REQUIRE(h2.is_ok());
    const std::string p = "dom0_generation:";
    const std::string id1 = std::to_string(h1->id), id2 = std::to_string(h2->id);
    const std::string absent = std::to_string(h2->id + 1000);
    for (const std::string& key : {p + id1, p + id2, p + absent, p + "0" + id1, p + id1 + "x", p,
                                   p + "-" + id1, "other:" + absent, "dom0_generation" + absent})
        REQUIRE(a->set_setting(key, "3"));
    auto deleted = b->delete_settings_of_absent_hosts(p);
    REQUIRE(deleted.is_ok());
    std::vector<std::string> expected{p, p + "-" + id1, p + "0" + id1, p + absent, p + id1 + "x"};
    std::sort(expected.begin(), expected.end());
    CHECK(*deleted == expected);
    std::vector<std::string> kept{p + id1, p + id2, "dom0_generation" + absent, "other:" + absent};
    std::sort(kept.begin(), kept.end());
    CHECK(*a->list_setting_keys("") == kept);
    CHECK(b->delete_settings_of_absent_hosts(p)->empty());  // nothing left to delete

    // A removed host's goes at the next call; rolled back with its transaction, it stays.
    REQUIRE(a->remove_host(h2->id));
    Status rolled = b->transaction([&]() -> Status {
        if (auto d = b->delete_settings_of_absent_hosts(p); !d || d->size() != 1)
            return Status::error("expected one");
        return Status::error("give up");
    });
    CHECK(rolled.message() == "give up");
    CHECK(*a->get_setting(p + id2) == "3");
    CHECK(*b->delete_settings_of_absent_hosts(p) == std::vector<std::string>{p + id2});
    CHECK(*a->get_setting(p + id1) == "3");
    // Pattern characters in the prefix match only themselves.
    REQUIRE(a->set_setting("a%" + id1, "x"));
    REQUIRE(a->set_setting("a_" + absent, "x"));
    CHECK(*b->delete_settings_of_absent_hosts("a%") == std::vector<std::string>{});
    CHECK(*b->delete_settings_of_absent_hosts("a_") == std::vector<std::string>{"a_" + absent});
}

STORE_TEST("store: whether another server is connected to the same database") {
    auto a = site.open();
    // SQLite is one server's file: never shared this way.
    const bool shared = std::string(site.backend()) == "postgresql";
    CHECK(another_server_connected(*a).value() == false);
    {
        auto b = site.open();
        CHECK(another_server_connected(*a).value() == shared);
        CHECK(another_server_connected(*b).value() == shared);
    }
    // b's sessions end with its connections (as a killed server's do with its sockets).
    bool alone = false;
    for (int i = 0; i < 50 && !alone; ++i) {
        alone = !another_server_connected(*a).value();
        if (!alone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(alone);
}

STORE_TEST("store: reads from many threads at once, while one writes, each see a whole answer") {
    // PostgreSQL reads go over a pool of connections (PgOptions::readers): more threads than
    // connections take turns, none gets another's answer.
    auto store = site.open(&base::real_clock());
    for (int i = 0; i < 20; ++i)
        REQUIRE(store->add_host(spec(mac_of(i), "h" + std::to_string(100 + i)), HostState::enrolled,
                                "x"));
    std::atomic<int> wrong{0};
    auto reader = [&](int who) {
        for (int i = 0; i < 60; ++i) {
            HostFilter f;
            f.limit = 5;
            f.offset = std::size_t(who % 4);
            auto page = store->list_hosts(f);
            if (!page || page->size() != 5 ||
                page->front().name != "h" + std::to_string(100 + who % 4))
                ++wrong;
            auto total = store->count_hosts(HostFilter{});
            if (!total || *total < 20) ++wrong;
            if (!store->data_version()) ++wrong;
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 9; ++t) threads.emplace_back(reader, t);
    for (int i = 20; i < 40; ++i)
        CHECK(store->add_host(spec(mac_of(i), "w" + std::to_string(i)), HostState::enrolled, "x"));
    for (std::thread& t : threads) t.join();
    CHECK(wrong.load() == 0);
    auto total = store->count_hosts(HostFilter{});
    REQUIRE(total.is_ok());
    CHECK(*total == 40);
}

TEST_CASE("store (postgresql): a session the server ended is replaced at the next call") {
    auto site = testutil::postgres_site();
    auto store = site->open();
    REQUIRE(store->add_host(spec("52:54:00:00:00:01", "h1"), HostState::enrolled, "x"));
    // As a restart of the database would: every provisionerd session of the cluster ends.
    testutil::postgres_exec(*site,
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE application_name = 'provisionerd'");
    auto hosts = store->list_hosts({});  // the reader's connection
    REQUIRE_MESSAGE(hosts.is_ok(), hosts.status().message());
    CHECK(hosts->size() == 1);
    auto second = store->add_host(spec("52:54:00:00:00:02", "h2"), HostState::enrolled, "x");
    REQUIRE_MESSAGE(second.is_ok(), second.status().message());  // the writer's
    CHECK(store->get_host(second->id)->name == "h2");
    CHECK(store->data_version().has_value());
}

STORE_TEST("store: the id of a deleted newest row is never given again (hosts, images, ...)") {
    auto store = site.open();
    // Hosts: h2, the newest, removed; h3 must not inherit its id (and its events, history,
    // settings).
    auto h1 = store->add_host(spec(mac_of(1), "h1"), HostState::enrolled, "x");
    auto h2 = store->add_host(spec(mac_of(2), "h2"), HostState::enrolled, "x");
    REQUIRE(h1);
    REQUIRE(h2);
    REQUIRE(store->remove_host(h2->id));
    auto h3 = store->add_host(spec(mac_of(3), "h3"), HostState::enrolled, "x");
    REQUIRE(h3);
    CHECK(h3->id > h2->id);
    // Images.
    Image img;
    img.name = "dom0";
    img.version = "1";
    img.raw_size = 1 << 20;
    img.path = "/i/dom0-1";
    auto i1 = store->add_image(img);
    REQUIRE(i1);
    REQUIRE(store->remove_image(i1->id));
    img.version = "2";
    auto i2 = store->add_image(img);
    REQUIRE(i2);
    CHECK(i2->id > i1->id);
    // Templates.
    Template t;
    t.name = "debian";
    t.version = "12";
    t.format = "qcow2";
    t.size = 1 << 20;
    t.path = "/t/debian-12.qcow2";
    auto t1 = store->add_template(t);
    REQUIRE(t1);
    REQUIRE(store->remove_template(t1->id));
    t.version = "13";
    auto t2 = store->add_template(t);
    REQUIRE(t2);
    CHECK(t2->id > t1->id);
    // Operator tokens (the last one left cannot go: two first).
    auto k1 = store->add_api_token("first", std::string(64, '1'));
    auto k2 = store->add_api_token("second", std::string(64, '2'));
    REQUIRE(k1);
    REQUIRE(k2);
    REQUIRE(store->remove_api_token("second"));
    auto k3 = store->add_api_token("third", std::string(64, '3'));
    REQUIRE(k3);
    CHECK(k3->id > k2->id);
    // Nor after a reopen (the high-water mark is in the database, not the connection).
    REQUIRE(store->remove_host(h3->id));
    store.reset();
    store = site.open();
    auto h4 = store->add_host(spec(mac_of(4), "h4"), HostState::enrolled, "x");
    REQUIRE(h4);
    CHECK(h4->id > h3->id);
}
