// The site and VM endpoints through the real Router: a site file planned against the Dom0
// agents' reports, applied through the action queue the agents poll, and recalled.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "imaging/digest.h"
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
            tokens[name] = auth->dom0_token(*store->find_host_by_name(name)).value();
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
                       {"libvirt_uri", "test+tcp://" + host + "/default"},
                       {"live_migration", live_migration}}},
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
    bool live_migration = false;  // what the hosts' reports say they can do
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

TEST_CASE(
    "server site: a live migration goes to the VM's current host with the destination's URI") {
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
    s.live_migration = true;
    s.report("h1", json::array());
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

namespace {

const json kWeb1 = {{"name", "web1"},
                    {"vcpus", 2},
                    {"memory_mib", 1024},
                    {"template", "debian@3"},
                    {"state", "running"}};
const json kWeb2 = {{"name", "web2"},
                    {"vcpus", 1},
                    {"memory_mib", 512},
                    {"template", "debian@3"},
                    {"state", "running"}};

// web1 runs on h2 and the file pins it to h1; neither host can migrate live. Applied: the
// cold move's first part, move_send, handed to h2.
struct ColdMove : SiteServer {
    ColdMove() {
        report("h2", json::array({kWeb1, kWeb2}));
        auto applied = call_json(bhttp::verb::post, "/api/v1/site/apply", site_body(kSite));
        REQUIRE(last_status == 202);
        REQUIRE(applied["plan"].size() == 1);
        REQUIRE(applied["plan"][0]["kind"] == "migrate");
        auto actions = report("h2", json::array({kWeb1, kWeb2}))["actions"];
        REQUIRE(actions.size() == 1);
        send = actions[0];
        transfer = send["transfer"];
    }
    unsigned put(const std::string& host, std::uint64_t offset, const std::string& bytes) {
        return call(bhttp::verb::put, disk_path("?offset=" + std::to_string(offset)), bytes,
                    tokens[host])
            .result_int();
    }
    unsigned done(const std::string& host, const std::string& bytes) {
        const auto* raw = reinterpret_cast<const std::uint8_t*>(bytes.data());
        json body = {{"size", bytes.size()},
                     {"sha256", imaging::to_hex(imaging::sha256({raw, bytes.size()}))}};
        return call(bhttp::verb::post, disk_path("/done"), body.dump(), tokens[host]).result_int();
    }
    // The disk sent in two chunks and the send answered ok.
    void send_disk() {
        REQUIRE(put("h2", 0, "hello ") == 204);
        REQUIRE(put("h2", 6, "disk") == 204);
        REQUIRE(done("h2", "hello disk") == 204);
        REQUIRE(answer("h2", send) == 204);
    }
    std::string disk_path(const std::string& rest = "") const {
        return "/api/v1/agent/disks/" + transfer + rest;
    }
    json status() { return call_json(bhttp::verb::get, "/api/v1/site/status")["applies"][0]; }
    std::size_t files_held() const {
        std::size_t n = 0;
        std::error_code ec;
        for (auto it = std::filesystem::directory_iterator(dir / "moves", ec);
             !ec && it != std::filesystem::directory_iterator(); ++it)
            ++n;
        return n;
    }
    json send;
    std::string transfer;
};

}  // namespace

TEST_CASE("server site: a cold move runs send, receive and finish in order across the hosts") {
    ColdMove m;
    CHECK(m.send["kind"] == "move_send");
    CHECK(m.send["vm"]["name"] == "web1");
    CHECK(m.send["vm"]["interfaces"][0]["mac"] == "aa:00:00:00:10:01");
    // The destination's part waits for the source's disk.
    CHECK(m.report("h1", json::array())["actions"].empty());
    // Only the source writes; chunks come in order.
    CHECK(m.put("h1", 0, "x") == 403);
    CHECK(m.put("h2", 0, "hello ") == 204);
    CHECK(m.put("h2", 3, "lo") == 400);
    CHECK(m.put("h2", 6, "disk") == 204);
    CHECK(m.call(bhttp::verb::get, m.disk_path("/data"), "", m.tokens["h1"]).result_int() == 409);
    CHECK(m.done("h2", "hello DISK") == 400);  // discarded: sent again from the start
    CHECK(m.put("h2", 0, "hello ") == 204);
    CHECK(m.put("h2", 6, "disk") == 204);
    CHECK(m.done("h2", "hello disk") == 204);
    CHECK(m.report("h1", json::array())["actions"].empty());  // the send is not answered yet
    REQUIRE(m.answer("h2", m.send) == 204);

    auto received = m.report("h1", json::array())["actions"];
    REQUIRE(received.size() == 1);
    CHECK(received[0]["kind"] == "move_receive");
    CHECK(received[0]["transfer"] == m.transfer);
    CHECK(received[0]["vm"]["template"] == "debian@3");
    CHECK(received[0]["vm"]["vcpus"] == 2);
    auto info = m.call_json(bhttp::verb::get, m.disk_path(), "", m.tokens["h1"]);
    CHECK(info["complete"] == true);
    CHECK(info["size"] == 10);
    auto chunk =
        m.call(bhttp::verb::get, m.disk_path("/data?offset=6&length=100"), "", m.tokens["h1"]);
    CHECK(chunk.body() == "disk");
    // The source deletes nothing before the destination runs the VM.
    CHECK(m.report("h2", json::array({kWeb1, kWeb2}))["actions"].empty());
    REQUIRE(m.answer("h1", received[0]) == 204);

    auto finish = m.report("h2", json::array({kWeb1, kWeb2}))["actions"];
    REQUIRE(finish.size() == 1);
    CHECK(finish[0]["kind"] == "move_finish");
    CHECK(m.files_held() == 1);
    REQUIRE(m.answer("h2", finish[0]) == 204);
    CHECK(m.files_held() == 0);
    CHECK(m.call(bhttp::verb::get, m.disk_path(), "", m.tokens["h1"]).result_int() == 404);
    json st = m.status();
    CHECK(st["state"] == "succeeded");
    REQUIRE(st["steps"].size() == 3);
    CHECK(st["steps"][1]["part"] == "move_receive");
    auto vms = m.call_json(bhttp::verb::get, "/api/v1/vms")["vms"];
    REQUIRE(vms.size() == 2);
    CHECK(vms[0]["name"] == "web1");
    CHECK(vms[0]["host"] == "h1");
    CHECK(m.call_json(bhttp::verb::post, "/api/v1/site/diff", site_body(kSite))["plan"].empty());
}

TEST_CASE("server site: a failed receive starts the VM again on the source and fails the apply") {
    ColdMove m;
    m.send_disk();
    auto received = m.report("h1", json::array())["actions"];
    REQUIRE(received.size() == 1);
    CHECK(m.answer("h1", received[0], false) == 204);
    auto abort = m.report("h2", json::array({kWeb1, kWeb2}))["actions"];
    REQUIRE(abort.size() == 1);
    CHECK(abort[0]["kind"] == "move_abort");
    CHECK(abort[0]["vm"]["name"] == "web1");
    json st = m.status();
    CHECK(st["state"] == "failed");
    REQUIRE(st["steps"].size() == 4);
    CHECK(st["steps"][1]["error"] == "libvirt said no; the VM is started again on h2");
    CHECK(st["steps"][2]["part"] == "move_finish");
    CHECK(st["steps"][2]["state"] == "skipped");
    CHECK(m.files_held() == 1);
    REQUIRE(m.answer("h2", abort[0]) == 204);
    CHECK(m.files_held() == 0);
    CHECK(m.report("h2", json::array({kWeb1, kWeb2}))["actions"].empty());
    auto vms = m.call_json(bhttp::verb::get, "/api/v1/vms")["vms"];
    REQUIRE(vms.size() == 2);
    CHECK(vms[0]["host"] == "h2");
}

TEST_CASE("server site: a failed send skips the rest of the move and drops its disk") {
    ColdMove m;
    REQUIRE(m.put("h2", 0, "partial") == 204);
    CHECK(m.answer("h2", m.send, false) == 204);
    CHECK(m.files_held() == 0);
    CHECK(m.report("h1", json::array())["actions"].empty());
    CHECK(m.report("h2", json::array({kWeb1, kWeb2}))["actions"].empty());
    json st = m.status();
    CHECK(st["state"] == "failed");
    REQUIRE(st["steps"].size() == 3);
    CHECK(st["steps"][1]["state"] == "skipped");
    CHECK(st["steps"][2]["state"] == "skipped");
    // The move is over: its transfer takes no more bytes.
    CHECK(m.put("h2", 0, "late") == 404);
}

TEST_CASE("server site: a step after a cold move on its new host waits for the whole move") {
    SiteServer s;
    json small = kWeb1;
    small["vcpus"] = 1;
    small["memory_mib"] = 512;
    s.report("h2", json::array({small, kWeb2}));  // web1 moves to h1 and grows to 2, 1024
    auto applied = s.call_json(bhttp::verb::post, "/api/v1/site/apply", site_body(kSite));
    REQUIRE(s.last_status == 202);
    REQUIRE(applied["plan"].size() == 2);
    CHECK(applied["plan"][1]["kind"] == "reconfigure");
    auto send = s.report("h2", json::array({small, kWeb2}))["actions"];
    REQUIRE(send.size() == 1);
    CHECK(send[0]["vm"]["vcpus"] == 1);  // moved at its current size
    REQUIRE(s.answer("h2", send[0]) == 204);
    auto receive = s.report("h1", json::array())["actions"];
    REQUIRE(receive.size() == 1);
    CHECK(receive[0]["kind"] == "move_receive");
    REQUIRE(s.answer("h1", receive[0]) == 204);
    // Running on h1 now, but the resize waits until h2 has let go of it.
    CHECK(s.report("h1", json::array({small}))["actions"].empty());
    auto finish = s.report("h2", json::array({small, kWeb2}))["actions"];
    REQUIRE(finish.size() == 1);
    REQUIRE(s.answer("h2", finish[0]) == 204);
    auto grow = s.report("h1", json::array({small}))["actions"];
    REQUIRE(grow.size() == 1);
    CHECK(grow[0]["kind"] == "reconfigure");
    CHECK(grow[0]["vm"]["vcpus"] == 2);
    CHECK(grow[0]["vm"]["memory_mib"] == 1024);
}

namespace {

const char* kServiceSite = R"(<XSMConfig>
<Set name="shop">
  <VM name="web1">
    <DOM0>h1</DOM0>
    <VCPUS>1</VCPUS>
    <MEM>512</MEM>
    <TEMPLATE>debian@3</TEMPLATE>
    <SERVICE package="nginx">
      <PARAM name="port">8080</PARAM>
      <PARAM name="workers">4</PARAM>
    </SERVICE>
    <SERVICE package="redis"/>
  </VM>
  <VM name="web2">
    <DOM0>h2</DOM0>
    <VCPUS>1</VCPUS>
    <MEM>512</MEM>
    <TEMPLATE>debian@3</TEMPLATE>
  </VM>
</Set>
</XSMConfig>
)";

json guest_body(const std::string& vm, const json& services) {
    return {{"vm", vm}, {"address", "10.0.0.5"}, {"services", services}};
}

}  // namespace

TEST_CASE("server site: guests get their VM's services and report SO-MVDS's states") {
    SiteServer s;
    s.call_json(bhttp::verb::post, "/api/v1/site/apply", site_body(kServiceSite));
    REQUIRE(s.last_status == 202);
    CHECK(std::filesystem::exists(s.config.state_dir / "site.xml"));  // kept for a restart

    // The create carries the guest's settings; its token is the VM's own.
    auto a1 = s.report("h1", json::array())["actions"];
    REQUIRE(a1.size() == 1);
    const std::string token = s.auth->guest_token("web1");
    CHECK(a1[0]["vm"]["guest"] == "provisioner.server=" + s.config.public_url +
                                      " provisioner.guest=web1 provisioner.token=" + token);
    auto guest = s.call_json(bhttp::verb::get, "/api/v1/vms/web1/guest");
    CHECK(s.last_status == 200);
    CHECK(guest["token"] == token);
    CHECK(guest["cmdline"] == a1[0]["vm"]["guest"]);
    CHECK(s.answer("h1", a1[0]) == 204);
    s.report("h1", json::array({reported(a1[0])}));

    // Reported, but no guest yet: unavailable.
    auto vms = s.call_json(bhttp::verb::get, "/api/v1/vms")["vms"];
    REQUIRE(vms.size() == 1);
    CHECK(vms[0]["service_state"] == "vm_unavailable");
    REQUIRE(vms[0]["services"].size() == 2);
    CHECK(vms[0]["services"][0] == json{{"package", "nginx"}, {"state", "vm_unavailable"}});

    // A wrong token, another VM's token, no token: 401, nothing recorded.
    const std::string body = guest_body("web1", json::array()).dump();
    CHECK(s.call(bhttp::verb::post, "/api/v1/guest/report", body, s.auth->guest_token("web2"))
              .result_int() == 401);
    CHECK(s.call(bhttp::verb::post, "/api/v1/guest/report", body, s.tokens["h1"]).result_int() ==
          401);
    CHECK(s.call(bhttp::verb::post, "/api/v1/guest/report", body, "").result_int() == 401);
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/vms")["vms"][0]["service_state"] ==
          "vm_unavailable");
    // A guest token is no operator's.
    CHECK(s.call(bhttp::verb::get, "/api/v1/vms", "", token).result_int() == 401);

    // The guest's first report: the services, parameters in file order.
    auto answer = s.call_json(bhttp::verb::post, "/api/v1/guest/report", body, token);
    REQUIRE(s.last_status == 200);
    REQUIRE(answer["services"].size() == 2);
    CHECK(answer["services"][0]["package"] == "nginx");
    CHECK(answer["services"][0]["parameters"] ==
          json::array({json{{"name", "port"}, {"value", "8080"}},
                       json{{"name", "workers"}, {"value", "4"}}}));
    CHECK(answer["services"][1] == json{{"package", "redis"}, {"parameters", json::array()}});
    vms = s.call_json(bhttp::verb::get, "/api/v1/vms")["vms"];
    CHECK(vms[0]["service_state"] == "vm_ready");
    CHECK(vms[0]["address"] == "10.0.0.5");

    // One available, one behind: the VM shows the least advanced; a failure shows first.
    s.call_json(bhttp::verb::post, "/api/v1/guest/report",
                guest_body("web1", json::array({json{{"package", "nginx"},
                                                     {"state", "service_available"},
                                                     {"access", "10.0.0.5:8080"}},
                                                json{{"package", "redis"},
                                                     {"state", "container_ready"}}}))
                    .dump(),
                token);
    REQUIRE(s.last_status == 200);
    vms = s.call_json(bhttp::verb::get, "/api/v1/vms")["vms"];
    CHECK(vms[0]["service_state"] == "container_ready");
    CHECK(vms[0]["services"][0] == json{{"package", "nginx"},
                                        {"state", "service_available"},
                                        {"access", "10.0.0.5:8080"}});
    s.call_json(bhttp::verb::post, "/api/v1/guest/report",
                guest_body("web1", json::array({json{{"package", "redis"},
                                                     {"state", "failed"},
                                                     {"error", "install command exited with 100"}}}))
                    .dump(),
                token);
    vms = s.call_json(bhttp::verb::get, "/api/v1/vms")["vms"];
    CHECK(vms[0]["service_state"] == "failed");
    CHECK(vms[0]["services"][0]["state"] == "vm_ready");  // not in this report
    CHECK(vms[0]["services"][1]["error"] == "install command exited with 100");

    // Bad reports: 400, nothing recorded.
    s.call_json(bhttp::verb::post, "/api/v1/guest/report",
                guest_body("web1", json::array({json{{"package", "nginx"}, {"state", "done"}}}))
                    .dump(),
                token);
    CHECK(s.last_status == 400);
    s.call_json(bhttp::verb::post, "/api/v1/guest/report",
                guest_body("web1", json{{"package", "nginx"}}).dump(), token);
    CHECK(s.last_status == 400);
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/vms")["vms"][0]["service_state"] == "failed");

    // A VM without services: nothing for its guest, no service state.
    auto none = s.call_json(bhttp::verb::post, "/api/v1/guest/report",
                            guest_body("web2", json::array()).dump(), s.auth->guest_token("web2"));
    CHECK(s.last_status == 200);
    CHECK(none["services"].empty());
}

TEST_CASE("service board: a guest silent for longer than the stale time is unavailable") {
    auto parsed = site::parse_site(kServiceSite);
    REQUIRE(parsed.ok());
    auto store = open_sqlite_store(":memory:");
    REQUIRE(store.is_ok());
    ServiceBoard board(**store, 90'000);
    REQUIRE(board.set_site(parsed.site).is_ok());
    CHECK_FALSE(board.view("web2", 0).has_value());  // no services
    auto services = board.report(
        "web1", "10.0.0.5", {{"nginx", ServiceState::service_available, "", "10.0.0.5:8080"},
                             {"redis", ServiceState::service_available, "", ""}},
        1'000);
    REQUIRE(services.is_ok());
    CHECK(services->size() == 2);
    CHECK(board.view("web1", 91'000)->summary == ServiceState::service_available);
    auto stale = board.view("web1", 91'001);
    CHECK(stale->summary == ServiceState::vm_unavailable);
    CHECK(stale->services[0].state == ServiceState::vm_unavailable);
    CHECK(stale->address == "10.0.0.5");
    // The same services on other lines are no change; a new site without web1's services
    // forgets them.
    auto moved = site::parse_site(std::string("\n\n") + kServiceSite);
    REQUIRE(moved.ok());
    CHECK(board.changes(moved.site).empty());
    CHECK(board.set_site(moved.site)->empty());
    parsed.site.vms[0].services.clear();
    CHECK(board.changes(parsed.site) == std::vector<std::string>{"web1"});
    CHECK(*board.set_site(parsed.site) == std::vector<std::string>{"web1"});
    CHECK_FALSE(board.view("web1", 2'000).has_value());
    CHECK(board.report("web1", "", {}, 2'000)->empty());
    CHECK(parse_guest_state("vm_unavailable").status().code() == Code::invalid_argument);
}

TEST_CASE("server site: an apply that changes only services says so and replaces them") {
    SiteServer s;
    auto first = s.call_json(bhttp::verb::post, "/api/v1/site/apply", site_body(kServiceSite));
    REQUIRE(s.last_status == 202);
    CHECK(first["services_changed"] == json::array({"web1"}));
    for (const char* host : {"h1", "h2"}) {
        auto actions = s.report(host, json::array())["actions"];
        REQUIRE(actions.size() == 1);
        CHECK(s.answer(host, actions[0]) == 204);
        s.report(host, json::array({reported(actions[0])}));
    }
    auto same = s.call_json(bhttp::verb::post, "/api/v1/site/diff", site_body(kServiceSite));
    CHECK(same["plan"].empty());
    CHECK(same["services_changed"].empty());

    // Another parameter for web1's nginx, a service for web2; the VMs themselves as they were.
    std::string edited = kServiceSite;
    edited.replace(edited.find("8080"), 4, "8081");
    edited.insert(edited.rfind("</VM>"), "<SERVICE package=\"redis\"/>\n");
    auto diff = s.call_json(bhttp::verb::post, "/api/v1/site/diff", site_body(edited));
    CHECK(diff["plan"].empty());
    CHECK(diff["services_changed"] == json::array({"web1", "web2"}));
    auto token = s.auth->guest_token("web1");
    auto before = s.call_json(bhttp::verb::post, "/api/v1/guest/report",
                              guest_body("web1", json::array()).dump(), token);
    CHECK(before["services"][0]["parameters"][0]["value"] == "8080");  // a diff changes nothing

    auto applied = s.call_json(bhttp::verb::post, "/api/v1/site/apply", site_body(edited));
    REQUIRE(s.last_status == 202);
    CHECK(applied["plan"].empty());
    CHECK(applied["services_changed"] == json::array({"web1", "web2"}));
    auto after = s.call_json(bhttp::verb::post, "/api/v1/guest/report",
                             guest_body("web1", json::array()).dump(), token);
    CHECK(after["services"][0]["parameters"][0]["value"] == "8081");

    // The same file again changes nothing; one without services removes both VMs' services.
    CHECK(
        s.call_json(bhttp::verb::post, "/api/v1/site/apply", site_body(edited))["services_changed"]
            .empty());
    CHECK(s.call_json(bhttp::verb::post, "/api/v1/site/apply",
                      site_body(kSite))["services_changed"] == json::array({"web1", "web2"}));
}
