// The template catalog: the inventory's templates (migration 3), SO-MVDS's resolution of
// references, the /api/v1/templates endpoints, the agents' fetch endpoint, and site files
// checked against the catalog.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "template_catalog.h"
#include "test_server_fixture.h"

using namespace servertest;

namespace {

Template catalog_entry(const std::string& name, const std::string& version,
                       std::vector<std::string> labels = {},
                       std::optional<Timestamp> used = std::nullopt, Timestamp created = 1) {
    Template t;
    t.name = name;
    t.version = version;
    t.labels = std::move(labels);
    t.format = "raw";
    t.created_at = created;
    t.last_used_at = used;
    return t;
}

std::string resolved(const std::vector<Template>& catalog, const std::string& ref) {
    auto t = resolve_template(catalog, ref);
    return t ? t->ref() : "error: " + t.status().message();
}

std::string site_with(const std::string& template_element) {
    return "<XSMConfig>\n<Set name=\"s\">\n<VM name=\"web1\"><DOM0>h1</DOM0><VCPUS>1</VCPUS>"
           "<MEM>256</MEM>\n" +
           template_element + "\n</VM>\n</Set>\n</XSMConfig>\n";
}

// One host, h1, whose agent reports the given VMs.
struct CatalogServer : Server {
    CatalogServer() {
        call_json(bhttp::verb::post, "/api/v1/hosts",
                  json{{"mac", "52:54:00:00:00:01"}, {"name", "h1"}, {"ip", "10.77.0.11"}}.dump());
        REQUIRE(last_status == 201);
        host_token = auth->dom0_token(*store->find_host_by_name("h1")).value();
        report(json::array());
    }
    json report(const json& vms, const json& templates = nullptr) {
        json body = {{"mac", "52:54:00:00:00:01"},
                     {"capacity", {{"vcpus", 8}, {"memory_mib", 16384}, {"load", 0.1}}},
                     {"vms", vms}};
        if (!templates.is_null()) body["templates"] = templates;
        auto out = call_json(bhttp::verb::post, "/api/v1/agent/vms", body.dump(), host_token);
        CHECK(last_status == 200);
        return out;
    }
    json site(const std::string& endpoint, const std::string& xml) {
        return call_json(bhttp::verb::post, "/api/v1/site/" + endpoint, json{{"site", xml}}.dump());
    }
    std::string host_token;
};

std::string error_message(const json& answer) {
    return answer["error"]["message"].get<std::string>();
}

}  // namespace

TEST_CASE("template resolution: an exact version, the most recently used, else the newest") {
    std::vector<Template> catalog = {catalog_entry("debian", "2", {"base"}),
                                     catalog_entry("debian", "10", {"base"}),
                                     catalog_entry("debian", "9", {"base"})};
    CHECK(resolved(catalog, "debian@9") == "debian@9");
    CHECK(resolved(catalog, "debian") == "debian@10");  // none used: the newest version
    catalog[0].last_used_at = 5000;
    CHECK(resolved(catalog, "debian") == "debian@2");  // the most recently used wins
    catalog[2].last_used_at = 6000;
    CHECK(resolved(catalog, "debian") == "debian@9");
    CHECK(resolved(catalog, "debian@10") == "debian@10");  // an exact version is never a guess
}

TEST_CASE("template resolution: a label query takes a template carrying every label") {
    std::vector<Template> catalog = {catalog_entry("web", "1", {"debian", "web"}),
                                     catalog_entry("web", "2", {"debian", "web"}),
                                     catalog_entry("cache", "1", {"debian", "redis"}, 100)};
    CHECK(resolved(catalog, "label=web") == "web@2");
    CHECK(resolved(catalog, "label=debian") == "cache@1");  // the one used
    CHECK(resolved(catalog, "label=debian,redis") == "cache@1");
    CHECK(resolved(catalog, "label=web,redis").starts_with("error: no template matches"));
}

TEST_CASE("template resolution: unknown names and versions, malformed references") {
    std::vector<Template> catalog = {catalog_entry("debian", "1"), catalog_entry("debian", "2")};
    auto unknown = resolve_template(catalog, "centos");
    REQUIRE(!unknown);
    CHECK(unknown.status().code() == Code::not_found);
    auto version = resolve_template(catalog, "debian@7");
    REQUIRE(!version);
    CHECK(version.status().message().find("versions of debian: 1 2") != std::string::npos);
    auto malformed = resolve_template(catalog, "debian@");
    REQUIRE(!malformed);
    CHECK(malformed.status().code() == Code::invalid_argument);
    CHECK(!resolve_template({}, "debian"));
}

TEST_CASE("template resolution: a running VM keeps a template that still satisfies its reference") {
    std::vector<Template> catalog = {catalog_entry("debian", "1"), catalog_entry("debian", "2")};
    auto parsed = site::load_site(site_with("<TEMPLATE>debian</TEMPLATE>"));
    REQUIRE(parsed);
    reconcile::ActualState actual;
    actual.hosts.push_back({"h1", "10.77.0.11", 8, 16384, 0, 0, 0, {{"web1", 1, 256, "debian@1"}}});
    auto kept = resolve_site_templates(catalog, *parsed, actual);
    REQUIRE(kept.problems.empty());
    CHECK(kept.site.vms[0].image.str() == "debian@1");
    auto fresh = resolve_site_templates(catalog, *parsed, {});
    CHECK(fresh.site.vms[0].image.str() == "debian@2");

    auto wrong = site::load_site(site_with("<TEMPLATE label=\"nope\"/>"));
    REQUIRE(wrong);
    auto refused = resolve_site_templates(catalog, *wrong, actual);
    REQUIRE(refused.problems.size() == 1);
    CHECK(refused.problems[0].line == 3);
    CHECK(refused.problems[0].message == "VM web1: no template matches 'label=nope'");
}

TEST_CASE("inventory: migration 3 adds the template catalog to a version 2 database") {
    testutil::TempDir dir;
    const auto path = dir / "inventory.db";
    {
        auto store = open_sqlite_store(path);
        REQUIRE(store);
        REQUIRE((*store)->add_host({*Mac::parse("52:54:00:00:00:01"), "h1", "", ""},
                                   HostState::enrolled, "op"));
    }
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
    // Back to version 2: the tables of migration 3 and of every later one go.
    REQUIRE(sqlite3_exec(raw,
                         "DROP TABLE template_labels; DROP TABLE templates;"
                         " DROP TABLE vm_actions; DROP TABLE vm_applies; DROP TABLE id_sequences;"
                         " DROP TABLE host_reports; DROP TABLE guest_reports;"
                         " DROP TABLE disk_transfers; DROP TABLE host_bmcs; DROP TABLE leases;"
                         " DELETE FROM schema_version WHERE version >= 3",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);

    auto store = open_sqlite_store(path);
    REQUIRE_MESSAGE(store, store.status().message());
    CHECK(current_schema_version() >= 3);
    CHECK((*store)->find_host_by_name("h1"));
    Template base = catalog_entry("debian", "1", {"base", "debian"});
    auto added = (*store)->add_template(base);
    REQUIRE_MESSAGE(added, added.status().message());
    Template child = catalog_entry("web", "1", {"web"});
    child.format = "qcow2";
    child.backing = "debian@1";
    REQUIRE((*store)->add_template(child));
    CHECK((*store)->add_template(base).status().code() == Code::conflict);
    child.version = "2";
    child.backing = "debian@9";
    CHECK((*store)->add_template(child).status().code() == Code::not_found);

    auto found = (*store)->find_template("web", "1");
    REQUIRE(found);
    CHECK(found->backing == "debian@1");
    CHECK(found->labels == std::vector<std::string>{"web"});
    CHECK(!found->last_used_at);
    REQUIRE((*store)->mark_template_used(found->id, 42));
    REQUIRE((*store)->set_template_labels(added->id, {"a", "b"}));
    auto all = (*store)->list_templates();
    REQUIRE(all);
    REQUIRE(all->size() == 2);
    CHECK((*all)[0].labels == std::vector<std::string>{"a", "b"});
    CHECK((*all)[1].last_used_at == 42);
    CHECK((*store)->remove_template(added->id).code() == Code::conflict);  // web@1's backing
    CHECK((*store)->remove_template(found->id));
    CHECK((*store)->remove_template(added->id));
    CHECK((*store)->integrity_check());
}

TEST_CASE("server templates: add, list, show, label and remove") {
    Server s;
    auto added = s.add_template("debian", "1", {"base", "debian"});
    REQUIRE_MESSAGE(s.last_status == 201, added.dump());
    CHECK(added["ref"] == "debian@1");
    CHECK(added["format"] == "raw");
    CHECK(added["labels"] == json{"base", "debian"});
    CHECK(added["backing"].is_null());
    CHECK(added["last_used_at"].is_null());
    CHECK(added["sha256"].get<std::string>().size() == 64);
    CHECK(std::filesystem::exists(added["path"].get<std::string>()));
    CHECK(added["path"].get<std::string>().starts_with((s.dir / "templates").string()));
    s.add_template("debian", "2", {"debian"});
    REQUIRE(s.last_status == 201);
    auto web = s.add_template("web", "1", {"web"}, "debian@2");
    REQUIRE_MESSAGE(s.last_status == 201, web.dump());
    CHECK(web["format"] == "qcow2");
    CHECK(web["backing"] == "debian@2");

    auto list = s.call_json(bhttp::verb::get, "/api/v1/templates");
    REQUIRE(list["templates"].size() == 3);
    CHECK(list["templates"][0]["ref"] == "debian@1");
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/templates?name=debian")["templates"].size() == 2);
    auto by_label = s.call_json(bhttp::verb::get, "/api/v1/templates?label=debian,base");
    REQUIRE(by_label["templates"].size() == 1);
    CHECK(by_label["templates"][0]["ref"] == "debian@1");

    CHECK(s.call_json(bhttp::verb::get, "/api/v1/templates/debian")["ref"] == "debian@2");
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/templates/label=base")["ref"] == "debian@1");
    s.call_json(bhttp::verb::get, "/api/v1/templates/centos");
    CHECK(s.last_status == 404);

    auto labelled = s.call_json(bhttp::verb::post, "/api/v1/templates/debian@1/labels",
                                R"({"add": ["lts", "old"], "remove": ["base"]})");
    REQUIRE(s.last_status == 200);
    CHECK(labelled["labels"] == json{"debian", "lts", "old"});
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/templates/debian@1")["labels"] ==
          json{"debian", "lts", "old"});

    auto removed = s.call_json(bhttp::verb::delete_, "/api/v1/templates/debian@1");
    REQUIRE(s.last_status == 200);
    CHECK(removed["ref"] == "debian@1");
    CHECK(!std::filesystem::exists(removed["path"].get<std::string>()));
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/templates")["templates"].size() == 2);
}

TEST_CASE("server templates: bad input is refused and changes nothing") {
    Server s;
    s.add_template("debian", "1");
    REQUIRE(s.last_status == 201);
    auto dup = s.add_template("debian", "1");
    CHECK(s.last_status == 409);
    CHECK(error_message(dup) == "template debian@1 exists already");
    auto version = s.add_template("debian", "1 beta");
    CHECK(s.last_status == 400);
    CHECK(error_message(version).find("bad version") != std::string::npos);
    s.add_template("debian", "2", {"no spaces"});
    CHECK(s.last_status == 400);
    s.add_template("web", "1", {}, "debian@9");
    CHECK(s.last_status == 404);
    s.add_template("web", "1", {}, "debian");
    CHECK(s.last_status == 400);
    // A raw file cannot be an overlay; a qcow2 must name its backing's file.
    auto raw_child = s.add_template("web", "1", {}, "debian@1", "raw");
    CHECK(s.last_status == 400);
    CHECK(error_message(raw_child).find("qcow2 overlay") != std::string::npos);
    auto wrong_backing = s.add_template("web", "1", {}, "debian@1", "other.qcow2");
    CHECK(s.last_status == 400);
    CHECK(error_message(wrong_backing).find("not debian@1.raw") != std::string::npos);
    s.add_template("web", "1", {}, "debian@1", "/srv/templates/debian@1.raw");
    CHECK(s.last_status == 400);  // a host would not find it there
    auto hidden_backing = s.add_template("web", "1", {}, "", "debian@1.raw");
    CHECK(s.last_status == 400);
    CHECK(error_message(hidden_backing).find("has a backing file") != std::string::npos);

    s.call_json(bhttp::verb::post, "/api/v1/templates", "{not json");
    CHECK(s.last_status == 400);
    s.call_json(bhttp::verb::post, "/api/v1/templates", R"({"name": "x", "version": "1"})");
    CHECK(s.last_status == 400);
    s.call_json(
        bhttp::verb::post, "/api/v1/templates",
        json{{"path", (s.import_dir() / "absent").string()}, {"name", "x"}, {"version", "1"}}
            .dump());
    CHECK(s.last_status == 404);
    s.call_json(bhttp::verb::post, "/api/v1/templates/debian@1/labels", R"({"add": "web"})");
    CHECK(s.last_status == 400);
    s.call_json(bhttp::verb::post, "/api/v1/templates/debian@1/labels", R"({})");
    CHECK(s.last_status == 400);
    s.call_json(bhttp::verb::delete_, "/api/v1/templates/debian");  // remove names a version
    CHECK(s.last_status == 400);

    auto list = s.call_json(bhttp::verb::get, "/api/v1/templates")["templates"];
    REQUIRE(list.size() == 1);
    CHECK(list[0]["labels"].empty());
    std::set<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(s.dir / "templates"))
        files.insert(e.path().filename().string());
    // Nothing left behind by the refused adds: the one template's file and its packed image.
    CHECK(files == std::set<std::string>{list[0]["name"].get<std::string>() + "@" +
                                             list[0]["version"].get<std::string>() + "." +
                                             list[0]["format"].get<std::string>(),
                                         list[0]["name"].get<std::string>() + "@" +
                                             list[0]["version"].get<std::string>() + ".image"});
}

TEST_CASE("server templates: tokens") {
    Server s;
    s.add_template("debian", "1");
    for (auto [method, target] : {std::pair{bhttp::verb::get, "/api/v1/templates"},
                                  std::pair{bhttp::verb::post, "/api/v1/templates"},
                                  std::pair{bhttp::verb::get, "/api/v1/templates/debian@1"},
                                  std::pair{bhttp::verb::delete_, "/api/v1/templates/debian@1"},
                                  std::pair{bhttp::verb::get, "/api/v1/agent/templates/debian@1"}})
        CHECK(s.call(method, target, "{}", "").result_int() == 401);
    CHECK(s.call(bhttp::verb::get, "/api/v1/templates", "", "op_wrong").result_int() == 401);
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/templates")["templates"].size() == 1);
}

TEST_CASE("server templates: 409 while a VM or another template uses it") {
    CatalogServer s;
    s.add_template("debian", "1");
    s.add_template("web", "1", {}, "debian@1");
    REQUIRE(s.last_status == 201);
    auto backing = s.call_json(bhttp::verb::delete_, "/api/v1/templates/debian@1");
    CHECK(s.last_status == 409);
    CHECK(error_message(backing) == "template debian@1 is the backing of web@1");

    s.report(json::array({{{"name", "vm1"},
                           {"vcpus", 1},
                           {"memory_mib", 256},
                           {"template", "web@1"},
                           {"state", "running"}}}));
    auto in_use = s.call_json(bhttp::verb::delete_, "/api/v1/templates/web@1");
    CHECK(s.last_status == 409);
    CHECK(error_message(in_use) == "template web@1 is in use by vm1 on h1");
    s.report(json::array());
    // A create queued by an apply and not yet answered counts as a use too.
    auto cold = s.call_json(bhttp::verb::get, "/api/v1/templates");
    CHECK(cold["cool_down"] == 604800);
    for (const json& t : cold["templates"]) CHECK_MESSAGE(t["hot"] == false, t.dump());
    REQUIRE(s.site("apply", site_with("<TEMPLATE>web</TEMPLATE>"))["plan"].size() == 1);
    s.call_json(bhttp::verb::delete_, "/api/v1/templates/web@1");
    CHECK(s.last_status == 409);
    // Used by the apply: web@1 is hot, and so is debian@1 under it.
    auto hot = s.call_json(bhttp::verb::get, "/api/v1/templates");
    REQUIRE(hot["templates"].size() == 2);
    for (const json& t : hot["templates"]) CHECK_MESSAGE(t["hot"] == true, t.dump());
    for (const json& t : hot["templates"]) CHECK(t["hosts"] == json::array());

    // Where each is: the hosts whose last report lists it; a report without the field (an
    // older agent) lists nothing; a malformed entry refuses the report.
    s.report(json::array(), json{"debian@1"});
    auto placed = s.call_json(bhttp::verb::get, "/api/v1/templates");
    CHECK(placed["templates"][0]["ref"] == "debian@1");
    CHECK(placed["templates"][0]["hosts"] == json{"h1"});
    CHECK(placed["templates"][1]["hosts"] == json::array());
    json bad = {{"mac", "52:54:00:00:00:01"},
                {"capacity", {{"vcpus", 8}, {"memory_mib", 16384}}},
                {"templates", {"debian"}}};
    s.call_json(bhttp::verb::post, "/api/v1/agent/vms", bad.dump(), s.host_token);
    CHECK(s.last_status == 400);
    s.report(json::array());
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/templates")["templates"][0]["hosts"] ==
          json::array());
}

TEST_CASE("server templates: the agents' record and file, for a host or an operator token") {
    CatalogServer s;
    auto added = s.add_template("debian", "1");
    auto record =
        s.call_json(bhttp::verb::get, "/api/v1/agent/templates/debian@1", "", s.host_token);
    REQUIRE(s.last_status == 200);
    CHECK(record["sha256"] == added["sha256"]);
    auto file = s.call(bhttp::verb::get, "/api/v1/agent/templates/debian@1/file", "", s.host_token);
    REQUIRE(file.result_int() == 200);
    CHECK(file.body() == "debian1");
    CHECK(s.call(bhttp::verb::get, "/api/v1/agent/templates/debian@1/file").result_int() == 200);
    CHECK(s.call(bhttp::verb::get, "/api/v1/agent/templates/debian/file", "", s.host_token)
              .result_int() == 400);  // a host fetches the version the server chose
    CHECK(s.call(bhttp::verb::get, "/api/v1/agent/templates/debian@2/file", "", s.host_token)
              .result_int() == 404);
    // Another server of a shared database has the record but not the file: it says so.
    REQUIRE(std::filesystem::remove(record["path"].get<std::string>()));
    auto gone = s.call(bhttp::verb::get, "/api/v1/agent/templates/debian@1/file", "", s.host_token);
    CHECK(gone.result_int() == 500);
    CHECK(gone.body().find("template debian@1's file is not on this server") != std::string::npos);
    // Host tokens stay off the operator's catalog endpoints.
    CHECK(s.call(bhttp::verb::get, "/api/v1/templates", "", s.host_token).result_int() == 403);
}

TEST_CASE("server site: templates resolve through the catalog; an unknown one is refused") {
    CatalogServer s;
    auto unknown = s.site("apply", site_with("<TEMPLATE>debian</TEMPLATE>"));
    CHECK(s.last_status == 400);
    REQUIRE(unknown["lines"].size() == 1);
    CHECK(unknown["lines"][0]["line"] == 3);
    CHECK(unknown["lines"][0]["message"] == "VM web1: no template matches 'debian'");
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/site/status")["applies"].empty());

    s.add_template("debian", "1", {"base"});
    s.add_template("debian", "2", {"base"});
    auto diff = s.site("diff", site_with("<TEMPLATE label=\"base\"/>"));
    REQUIRE(s.last_status == 200);
    CHECK(diff["plan"][0]["image"] == "debian@2");
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/templates/debian@2")["last_used_at"].is_null());

    auto applied = s.site("apply", site_with("<TEMPLATE>debian@1</TEMPLATE>"));
    REQUIRE(s.last_status == 202);
    auto actions = s.report(json::array())["actions"];
    REQUIRE(actions.size() == 1);
    CHECK(actions[0]["vm"]["template"] == "debian@1");
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/templates/debian@1")["last_used_at"].is_number());
    // Now the most recently used: a bare name takes it, though debian@2 is newer.
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/templates/debian")["ref"] == "debian@1");
}
