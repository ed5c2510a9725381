// SO-MVDS's hot templates on the server: which templates are hot (used within the cool-down,
// the newest version of a hot name, the backing chain of each; backing first), their packed
// images, the "templates" of the answer to POST /api/v1/agent/vms, and the delta servers the
// orchestrator runs for them.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "hot_templates.h"
#include "imaging/secret.h"
#include "template_image.h"
#include "test_server_fixture.h"

using namespace servertest;

namespace {

constexpr Timestamp kDay = 24 * 3600 * 1000;
constexpr std::chrono::seconds kWeek{7 * 24 * 3600};

Template entry(TemplateId id, const std::string& name, const std::string& version,
               std::optional<Timestamp> used = std::nullopt, const std::string& backing = "") {
    Template t;
    t.id = id;
    t.name = name;
    t.version = version;
    t.format = backing.empty() ? "raw" : "qcow2";
    t.backing = backing;
    t.size = 100;
    t.sha256 = std::string(64, 'a');
    t.last_used_at = used;
    return t;
}

std::string refs(const std::vector<Template>& list) {
    std::string out;
    for (const Template& t : list) out += (out.empty() ? "" : " ") + t.ref();
    return out;
}

}  // namespace

TEST_CASE("hot templates: used within the cool-down, and nothing else alone") {
    const Timestamp now = 100 * kDay;
    std::vector<Template> catalog = {entry(1, "debian", "1", now - 8 * kDay),
                                     entry(2, "alpine", "3", now - 2 * kDay),
                                     entry(3, "centos", "9")};
    CHECK(refs(hot_templates(catalog, now, kWeek)) == "alpine@3");
    CHECK(refs(hot_templates(catalog, now, std::chrono::seconds(3600))) == "");
    CHECK(refs(hot_templates(catalog, now, std::chrono::seconds(9 * 24 * 3600))) ==
          "alpine@3 debian@1");
    CHECK(hot_templates({}, now, kWeek).empty());
}

TEST_CASE("hot templates: the newest version of a hot name comes along, by version order") {
    const Timestamp now = 100 * kDay;
    std::vector<Template> catalog = {entry(1, "web", "9", now - kDay), entry(2, "web", "10"),
                                     entry(3, "web", "2"), entry(4, "db", "1"),
                                     entry(5, "db", "2", now - 30 * kDay)};
    // web@10 is newer than web@9 ("10" > "9"); web@2 is neither used nor newest; db is cold.
    CHECK(refs(hot_templates(catalog, now, kWeek)) == "web@9 web@10");
}

TEST_CASE("hot templates: the backing chain of each, backing first, each once") {
    const Timestamp now = 100 * kDay;
    std::vector<Template> catalog = {entry(1, "base", "1"),
                                     entry(2, "mid", "1", std::nullopt, "base@1"),
                                     entry(3, "app", "1", now - kDay, "mid@1"),
                                     entry(4, "app", "2", std::nullopt, "mid@1"),
                                     entry(5, "aaa", "1", now - kDay, "base@1"),
                                     entry(6, "cold", "1", now - 20 * kDay, "base@1")};
    CHECK(refs(hot_templates(catalog, now, kWeek)) == "base@1 aaa@1 mid@1 app@1 app@2");
    // A chain that names a missing template, or loops, stops there.
    std::vector<Template> broken = {entry(1, "x", "1", now, "gone@1"),
                                    entry(2, "p", "1", now, "q@1"),
                                    entry(3, "q", "1", std::nullopt, "p@1")};
    CHECK(refs(hot_templates(broken, now, kWeek)) == "q@1 p@1 x@1");
}

TEST_CASE("hot templates: the agents' JSON") {
    std::vector<Template> hot = {entry(1, "base", "1"), entry(2, "app", "2", 5, "base@1")};
    hot[1].labels = {"web"};
    auto j = hot_templates_json(
        hot,
        [](const Template& t) -> std::optional<TemplateDelta> {
            if (t.id == 2) return std::nullopt;  // its server does not listen yet
            return TemplateDelta{"10.0.0.1:" + std::to_string(9000 + t.id), std::string(64, 'c')};
        },
        std::chrono::seconds(600), "-----BEGIN PUBLIC KEY-----\nK\n-----END PUBLIC KEY-----\n");
    CHECK(j["cool_down"] == 600);
    CHECK(j["pubkey"] == "-----BEGIN PUBLIC KEY-----\nK\n-----END PUBLIC KEY-----\n");
    REQUIRE(j["hot"].size() == 2);
    CHECK(j["hot"][0] == json{{"template", "base@1"},
                              {"size", 100},
                              {"sha256", std::string(64, 'a')},
                              {"format", "raw"},
                              {"labels", json::array()},
                              {"backing", nullptr},
                              {"delta", "10.0.0.1:9001"},
                              {"secret", std::string(64, 'c')}});
    CHECK(j["hot"][1]["backing"] == "base@1");
    CHECK(j["hot"][1]["delta"].is_null());
    CHECK(j["hot"][1]["secret"].is_null());
    CHECK(j["hot"][1]["labels"] == json{"web"});
}

TEST_CASE("hot templates: packed on add, answered to the agents, served while hot") {
    Server s;
    s.config.template_cool_down = std::chrono::seconds(3600);
    s.add_template("debian", "1");
    REQUIRE(s.last_status == 201);
    const auto image = template_image_dir(s.dir / "templates", "debian@1");
    CHECK(std::filesystem::exists(image / "manifest.json"));
    CHECK(std::filesystem::exists(image / "chunks.pack"));
    s.add_template("debian", "2");
    REQUIRE(s.last_status == 201);

    s.call_json(bhttp::verb::post, "/api/v1/hosts",
                json{{"mac", "52:54:00:00:00:01"}, {"name", "h1"}, {"ip", "10.77.0.11"}}.dump());
    REQUIRE(s.last_status == 201);
    const std::string host_token = s.auth->dom0_token(*s.store->find_host_by_name("h1")).value();
    auto report = [&] {
        json body = {{"mac", "52:54:00:00:00:01"},
                     {"capacity", {{"vcpus", 8}, {"memory_mib", 16384}, {"load", 0.1}}},
                     {"vms", json::array()}};
        auto out = s.call_json(bhttp::verb::post, "/api/v1/agent/vms", body.dump(), host_token);
        CHECK(s.last_status == 200);
        return out;
    };
    // The key is the one every job carries (the fixture's "PEM"): an agent without --pubkey
    // checks its pre-copies against it.
    CHECK(report()["templates"] ==
          json{{"hot", json::array()}, {"cool_down", 3600}, {"pubkey", "PEM"}});
    s.orchestrator->tick();
    CHECK(s.launcher.spawned.empty());

    auto old = s.store->find_template("debian", "1");
    REQUIRE(old.is_ok());
    REQUIRE(s.store->mark_template_used(old->id, s.store->now()));
    auto hot = report()["templates"]["hot"];
    REQUIRE(hot.size() == 2);  // debian@1 is used, debian@2 the newest of a hot name
    CHECK(hot[0]["template"] == "debian@1");
    CHECK(hot[1]["template"] == "debian@2");
    CHECK(hot[1]["delta"].is_null());  // listed (hot), but no server yet to pre-copy from

    // The template servers take the lowest free template ports, in the hot list's order:
    // debian@2's is the second, moved onto a free port where nothing listens yet.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor probe(
        ioc, {boost::asio::ip::make_address("127.0.0.1"), std::uint16_t(0)});
    const std::uint16_t port = probe.local_endpoint().port();
    REQUIRE(port > 3000);
    probe.close();
    s.config.delta_port = std::uint16_t(port - 2000 - 1);
    s.orchestrator->tick();
    REQUIRE(s.launcher.spawned.size() == 2);
    CHECK(s.launcher.spawned[1][5] == "0.0.0.0:" + std::to_string(port));
    // Started (the fake launcher's processes run nothing), but nothing listens: still none.
    s.orchestrator->tick();
    CHECK(report()["templates"]["hot"][1]["delta"].is_null());
    // Something listens on debian@2's port.
    boost::asio::ip::tcp::acceptor listener(
        ioc, {boost::asio::ip::make_address("127.0.0.1"), port});
    CHECK(report()["templates"]["hot"][1]["delta"].is_null());  // until the next tick sees it
    s.orchestrator->tick();
    hot = report()["templates"]["hot"];
    CHECK(hot[1]["delta"] == "127.0.0.1:" + std::to_string(port));
    // Authenticated as a deployment's delta server is: its own secret, 0600, handed to the
    // server by file and to the agents beside its address.
    std::vector<std::string> secrets;
    for (const auto& argv : s.launcher.spawned) {
        auto flag = std::find(argv.begin(), argv.end(), "--secret-file");
        REQUIRE(flag + 1 < argv.end());
        CHECK((std::filesystem::status(*(flag + 1)).permissions() &
               std::filesystem::perms::all) ==
              (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
        auto secret = imaging::read_secret_file(*(flag + 1));
        REQUIRE(secret.is_ok());
        secrets.push_back(imaging::secret_to_hex(*secret));
    }
    CHECK(hot[1]["secret"] == secrets[1]);
    CHECK(secrets[0] != secrets[1]);

    auto serves = [&](const std::string& ref) {
        return std::any_of(s.launcher.spawned.begin(), s.launcher.spawned.end(), [&](auto& argv) {
            return argv.size() > 3 && argv[1] == "serve" &&
                   argv[3] == template_image_dir(s.dir / "templates", ref).string();
        });
    };
    CHECK(serves("debian@1"));
    CHECK(serves("debian@2"));

    // Removed: its file, its packed image and its delta server go (the next hot check).
    s.call_json(bhttp::verb::delete_, "/api/v1/templates/debian@2");
    REQUIRE(s.last_status == 200);
    CHECK_FALSE(std::filesystem::exists(template_image_dir(s.dir / "templates", "debian@2")));
    CHECK(report()["templates"]["hot"].size() == 1);
}

TEST_CASE("hot templates: a template whose file cannot be packed is not added") {
    Server s;
    std::filesystem::remove(StateFiles{s.dir.path()}.signing_key());
    auto answer = s.add_template("debian", "1");
    CHECK(s.last_status == 500);
    CHECK(answer.dump().find("packing template debian@1") != std::string::npos);
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/templates")["templates"].empty());
    CHECK(std::filesystem::is_empty(s.dir / "templates"));
}
