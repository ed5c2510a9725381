// The site and VM endpoints through the real Router: a site file planned against the Dom0
// agents' reports, applied through the action queue the agents poll, and recalled.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "test_server_fixture.h"

using namespace servertest;

namespace {

const char* kSite = R"(<XSMConfig>
<Set name="shop">
  <Network name="front" vlan="10"/>
  <VM name="web1">
    <DOM0>h1</DOM0>
    <VCPUS>2</VCPUS>
    <MEM>1024</MEM>
    <TEMPLATE>debian@3</TEMPLATE>
    <INTERFACE network="front" hwaddr="AA:00:00:00:10:01"/>
  </VM>
  <VM name="web2">
    <DOM0>10.77.0.12</DOM0>
    <VCPUS>1</VCPUS>
    <MEM>512</MEM>
    <TEMPLATE>debian@3</TEMPLATE>
  </VM>
</Set>
</XSMConfig>
)";

std::string site_body(const std::string& xml) {
    return json{{"site", xml}}.dump();
}

// Two enrolled hosts h1 and h2 whose agents report (no VMs yet), their tokens, and the
// catalog's template debian@3.
struct SiteServer : Server {
    SiteServer() {
        add_template("debian", "3");
        REQUIRE(last_status == 201);
        for (auto [mac, name, ip] : {std::tuple{"52:54:00:00:00:01", "h1", "10.77.0.11"},
                                     std::tuple{"52:54:00:00:00:02", "h2", "10.77.0.12"}}) {
            call_json(bhttp::verb::post, "/api/v1/hosts",
                      json{{"mac", mac}, {"name", name}, {"ip", ip}}.dump());
            REQUIRE(last_status == 201);
            tokens[name] = auth->host_token(*store->find_host_by_name(name));
            macs[name] = mac;
            REQUIRE(report(name, json::array())["actions"].empty());
        }
    }
    json report(const std::string& host, const json& vms) {
        json body = {{"mac", macs[host]},
                     {"capacity",
                      {{"vcpus", 8},
                       {"memory_mib", 16384},
                       {"load", 0.1},
                       {"reserved_vcpus", 1},
                       {"reserved_memory_mib", 1024},
                       {"libvirt_uri", "test+tcp://" + host + "/default"}}},
                     {"vms", vms}};
        auto out = call_json(bhttp::verb::post, "/api/v1/agent/vms", body.dump(), tokens[host]);
        CHECK(last_status == 200);
        return out;
    }
    unsigned answer(const std::string& host, const json& action, bool ok = true) {
        json body = ok ? json{{"ok", true}} : json{{"ok", false}, {"error", "libvirt said no"}};
        return call(bhttp::verb::post, "/api/v1/agent/actions/" + action["id"].dump(), body.dump(),
                    tokens[host])
            .result_int();
    }
    std::map<std::string, std::string> tokens, macs;
};

json reported(const json& action) {
    const json& vm = action["vm"];
    return {{"name", vm["name"]},
            {"vcpus", vm["vcpus"]},
            {"memory_mib", vm["memory_mib"]},
            {"template", vm["template"]},
            {"state", "running"}};
}

}  // namespace

TEST_CASE("server site: a malformed site file answers 400 with its lines and queues nothing") {
    SiteServer s;
    std::string bad =
        "<XSMConfig>\n<Set name=\"a\">\n<VM name=\"v\">\n<VCPUS>two</VCPUS>\n"
        "<MEM>64</MEM>\n</VM>\n</Set>\n</XSMConfig>\n";
    auto out = s.call_json(bhttp::verb::post, "/api/v1/site/apply", site_body(bad));
    CHECK(s.last_status == 400);
    CHECK(out["error"]["code"] == "invalid_argument");
    REQUIRE(out["lines"].size() == 1);
    CHECK(out["lines"][0]["line"] == 4);
    s.call_json(bhttp::verb::post, "/api/v1/site/diff", "<not json>");
    CHECK(s.last_status == 400);
    s.call_json(bhttp::verb::post, "/api/v1/site/diff",
                json{{"site", kSite}, {"algorithm", "best-guess"}}.dump());
    CHECK(s.last_status == 400);
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/site/status")["applies"].empty());
    // A VM larger than any host cannot be placed: 409, nothing queued.
    std::string huge = kSite;
    huge.replace(huge.find("<MEM>1024"), 9, "<MEM>999999");
    s.call_json(bhttp::verb::post, "/api/v1/site/apply", site_body(huge));
    CHECK(s.last_status == 409);
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/site/status")["applies"].empty());
    // Operator endpoints refuse host tokens.
    CHECK(s.call(bhttp::verb::get, "/api/v1/vms", "", s.tokens["h1"]).result_int() == 403);
}

TEST_CASE("server site: diff, apply, the agents' polls and answers, and applying again") {
    SiteServer s;
    auto diff = s.call_json(bhttp::verb::post, "/api/v1/site/diff", site_body(kSite));
    REQUIRE(s.last_status == 200);
    REQUIRE(diff["plan"].size() == 2);
    CHECK(diff["plan"][0]["kind"] == "create");
    CHECK(diff["plan"][0]["vm"] == "web1");
    CHECK(diff["plan"][0]["host"] == "h1");
    CHECK(diff["plan"][1]["vm"] == "web2");
    CHECK(diff["plan"][1]["host"] == "h2");
    CHECK(diff["placement"].size() == 2);
    CHECK(diff["text"].get<std::string>().find("web1") != std::string::npos);
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/site/status")["applies"].empty());

    auto applied = s.call_json(bhttp::verb::post, "/api/v1/site/apply", site_body(kSite));
    REQUIRE(s.last_status == 202);
    CHECK(applied["apply"] == 1);
    auto status = s.call_json(bhttp::verb::get, "/api/v1/site/status");
    REQUIRE(status["applies"].size() == 1);
    CHECK(status["applies"][0]["state"] == "running");
    // A second apply while the first has unanswered steps would queue the same creates again.
    auto refused = s.call_json(bhttp::verb::post, "/api/v1/site/apply", site_body(kSite));
    CHECK(s.last_status == 409);
    CHECK(refused["error"]["message"].get<std::string>().find("apply 1 is still running") !=
          std::string::npos);
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/site/status")["applies"].size() == 1);

    // Each agent gets its own create, with the VM's spec from the site file.
    auto a1 = s.report("h1", json::array())["actions"];
    REQUIRE(a1.size() == 1);
    CHECK(a1[0]["kind"] == "create");
    CHECK(a1[0]["vm"]["name"] == "web1");
    CHECK(a1[0]["vm"]["vcpus"] == 2);
    CHECK(a1[0]["vm"]["memory_mib"] == 1024);
    CHECK(a1[0]["vm"]["template"] == "debian@3");
    REQUIRE(a1[0]["vm"]["interfaces"].size() == 1);
    CHECK(a1[0]["vm"]["interfaces"][0] ==
          json{{"mac", "aa:00:00:00:10:01"}, {"network", "front"}, {"vlan", 10}});
    auto a2 = s.report("h2", json::array())["actions"];
    REQUIRE(a2.size() == 1);
    CHECK(a2[0]["vm"]["name"] == "web2");

    CHECK(s.answer("h1", a1[0]) == 204);
    CHECK(s.answer("h1", a1[0]) == 409);  // answered already
    CHECK(s.report("h1", json::array({reported(a1[0])}))["actions"].empty());
    CHECK(s.answer("h2", a2[0]) == 204);
    // Until h2 reports again the server counts its answered create; then the report.
    auto again = s.call_json(bhttp::verb::post, "/api/v1/site/diff", site_body(kSite));
    CHECK(again["plan"].empty());
    CHECK(s.report("h2", json::array({reported(a2[0])}))["actions"].empty());

    status = s.call_json(bhttp::verb::get, "/api/v1/site/status");
    CHECK(status["applies"][0]["state"] == "succeeded");
    CHECK(status["applies"][0]["steps"][0]["state"] == "done");
    auto vms = s.call_json(bhttp::verb::get, "/api/v1/vms")["vms"];
    REQUIRE(vms.size() == 2);
    CHECK(vms[0]["name"] == "web1");
    CHECK(vms[0]["host"] == "h1");

    applied = s.call_json(bhttp::verb::post, "/api/v1/site/apply", site_body(kSite));
    CHECK(s.last_status == 202);
    CHECK(applied["plan"].empty());
    CHECK(s.report("h1", json::array({reported(a1[0])}))["actions"].empty());
}

TEST_CASE("server site: recall queues removes; a host answers only its own actions") {
    SiteServer s;
    json web1 = {{"name", "web1"},
                 {"vcpus", 1},
                 {"memory_mib", 512},
                 {"template", "debian"},
                 {"state", "running"}};
    json db1 = web1;
    db1["name"] = "db1";
    s.report("h1", json::array({web1, db1}));
    s.call_json(bhttp::verb::post, "/api/v1/vms/recall", R"({"selector": ""})");
    CHECK(s.last_status == 400);
    auto recalled = s.call_json(bhttp::verb::post, "/api/v1/vms/recall", R"({"selector":"web*"})");
    REQUIRE(s.last_status == 202);
    REQUIRE(recalled["actions"].size() == 1);
    CHECK(recalled["actions"][0]["kind"] == "remove");
    CHECK(recalled["actions"][0]["vm"]["name"] == "web1");

    auto mine = s.report("h1", json::array({web1, db1}))["actions"];
    REQUIRE(mine.size() == 1);
    CHECK(s.answer("h2", mine[0]) == 403);  // h2's token, h1's action
    CHECK(s.call(bhttp::verb::post, "/api/v1/agent/actions/999", R"({"ok":true})", s.tokens["h1"])
              .result_int() == 404);
    CHECK(s.call(bhttp::verb::post, "/api/v1/agent/actions/" + mine[0]["id"].dump(),
                 R"({"ok":true})", s.token)
              .result_int() == 403);  // an operator token is not an agent
    CHECK(s.answer("h1", mine[0]) == 204);
    CHECK(s.report("h1", json::array({db1}))["actions"].empty());
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/vms")["vms"].size() == 1);
}

TEST_CASE("server site: a failed step fails its apply and holds the later steps on its host") {
    SiteServer s;
    std::string three = kSite;
    three.replace(three.find("</Set>"), 0,
                  "<VM name=\"web3\"><DOM0>h1</DOM0><VCPUS>1</VCPUS><MEM>256</MEM></VM>\n");
    auto applied = s.call_json(bhttp::verb::post, "/api/v1/site/apply", site_body(three));
    REQUIRE(s.last_status == 202);
    REQUIRE(applied["plan"].size() == 3);
    // h1 gets one of its two creates; the other waits behind it.
    auto a1 = s.report("h1", json::array())["actions"];
    REQUIRE(a1.size() == 1);
    CHECK(s.answer("h1", a1[0], false) == 204);
    CHECK(s.report("h1", json::array())["actions"].empty());
    // h2's step does not depend on h1's.
    CHECK(s.report("h2", json::array())["actions"].size() == 1);
    auto status = s.call_json(bhttp::verb::get, "/api/v1/site/status")["applies"][0];
    CHECK(status["state"] == "failed");
    int skipped = 0;
    for (const auto& step : status["steps"]) {
        if (step["vm"] == a1[0]["vm"]["name"]) CHECK(step["error"] == "libvirt said no");
        if (step["state"] == "skipped") {
            ++skipped;
            CHECK(step["host"] == "h1");
        }
    }
    CHECK(skipped == 1);
}

TEST_CASE("server site: a migration goes to the VM's current host with the destination's URI") {
    SiteServer s;
    json web1 = {{"name", "web1"},
                 {"vcpus", 2},
                 {"memory_mib", 1024},
                 {"template", "debian@3"},
                 {"state", "running"}};
    json web2 = {{"name", "web2"},
                 {"vcpus", 1},
                 {"memory_mib", 512},
                 {"template", "debian@3"},
                 {"state", "running"}};
    s.report("h2", json::array({web1, web2}));  // web1 runs on h2; the file pins it to h1
    auto applied = s.call_json(bhttp::verb::post, "/api/v1/site/apply", site_body(kSite));
    REQUIRE(s.last_status == 202);
    REQUIRE(applied["plan"].size() == 1);
    CHECK(applied["plan"][0]["kind"] == "migrate");
    CHECK(applied["plan"][0]["from_host"] == "h2");
    CHECK(applied["plan"][0]["host"] == "h1");
    CHECK(s.report("h1", json::array())["actions"].empty());
    auto moves = s.report("h2", json::array({web1, web2}))["actions"];
    REQUIRE(moves.size() == 1);
    CHECK(moves[0]["kind"] == "migrate");
    CHECK(moves[0]["to_uri"] == "test+tcp://h1/default");
    CHECK(moves[0]["vm"]["name"] == "web1");
    CHECK(s.answer("h2", moves[0]) == 204);
    // Counted as moved until the agents say otherwise.
    auto vms = s.call_json(bhttp::verb::get, "/api/v1/vms")["vms"];
    REQUIRE(vms.size() == 2);
    CHECK(vms[0] == json{{"name", "web1"},
                         {"vcpus", 2},
                         {"memory_mib", 1024},
                         {"template", "debian@3"},
                         {"state", "running"},
                         {"host", "h1"}});
    CHECK(s.call_json(bhttp::verb::post, "/api/v1/site/diff", site_body(kSite))["plan"].empty());
}
