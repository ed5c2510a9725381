// provisionerd's API through its real Router and an in-memory inventory: authentication and
// scopes, every bad input of the issue (malformed JSON, unknown and duplicate MACs, bad CSV
// lines, oversized bodies, unknown MACs asking for a boot script), and the agent's
// hello -> job -> progress -> result cycle with a fake process launcher in place of imaging.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "api.h"
#include "api_support.h"
#include "dhcp_service.h"
#include "delivery_board.h"
#include "imaging/delivery.h"
#include "imaging/pack.h"
#include "imaging/signing.h"
#include "orchestrator.h"
#include "provisioner/recovery.h"
#include "state.h"
#include "test_server_fixture.h"
#include "test_util.h"

using namespace provisioner;
using namespace provisioner::server;
using nlohmann::json;
namespace bhttp = imaging::http::bhttp;
using namespace servertest;

namespace {

std::string host_body(const char* mac, const char* name) {
    return json{{"mac", mac}, {"name", name}, {"rack", "r1"}}.dump();
}

// What a multicast sender (faked by the launcher) appends to its --delivery-log once the
// receipt of `host` in deployment `id` verifies: without it a result ok is held.
void sender_confirms(Server& s, DeploymentId id, const char* host, const json& image) {
    const auto& argv = s.launcher.spawned.at(0);
    auto log = std::find(argv.begin(), argv.end(), "--delivery-log");
    REQUIRE(log + 1 < argv.end());
    imaging::Delivery d{receiver_id_of(id, s.store->find_host_by_name(host)->id), "multicast",
                        image["image_sha256"].get<std::string>(), "10.0.0.9:7700", 0, 1, 0};
    std::ofstream(*(log + 1), std::ios::app) << imaging::encode_delivery(d) << "\n";
}

}  // namespace

TEST_CASE("server api: no token, a wrong token, or a host token on operator endpoints") {
    Server s;
    CHECK(s.call(bhttp::verb::get, "/api/v1/health", "", "").result_int() == 200);
    CHECK(s.call(bhttp::verb::get, "/api/v1/hosts", "", "").result_int() == 401);
    CHECK(s.call(bhttp::verb::get, "/api/v1/hosts", "", "op_0000").result_int() == 401);
    CHECK(s.call(bhttp::verb::post, "/api/v1/hosts", host_body("52:54:00:00:00:01", "h1"),
                 "garbage")
              .result_int() == 401);
    CHECK(s.store->count_hosts({}).value() == 0);  // a refused request changed nothing
    auto h1 = s.call_json(bhttp::verb::post, "/api/v1/hosts", host_body("52:54:00:00:00:01", "h1"));
    REQUIRE(s.last_status == 201);
    auto host = s.store->get_host(h1["id"].get<HostId>());
    std::string host_token = s.auth->dom0_token(*host).value();
    CHECK(s.call(bhttp::verb::get, "/api/v1/hosts", "", host_token).result_int() == 403);
    // A new operator token works; tokens are stored hashed.
    auto made = s.call_json(bhttp::verb::post, "/api/v1/tokens", R"({"name":"ci"})");
    REQUIRE(s.last_status == 201);
    CHECK(s.call(bhttp::verb::get, "/api/v1/hosts", "", made["token"].get<std::string>()).result_int() == 200);
    CHECK(s.store->find_api_token(Authenticator::token_hash(made["token"].get<std::string>())).is_ok());
}

TEST_CASE("server api: operator tokens are listed without secrets and revoked at once") {
    Server s;
    auto ci = s.call_json(bhttp::verb::post, "/api/v1/tokens", R"({"name":"ci"})");
    REQUIRE(s.last_status == 201);
    std::string ci_token = ci["token"].get<std::string>();

    auto listed = s.call_json(bhttp::verb::get, "/api/v1/tokens");
    CHECK(s.last_status == 200);
    REQUIRE(listed["tokens"].size() == 2);
    CHECK(listed["tokens"][0]["name"] == "admin");
    CHECK(listed["tokens"][1]["name"] == "ci");
    for (const auto& t : listed["tokens"]) {
        CHECK(t.size() == 2);  // name and created_at only
        CHECK(t["created_at"].is_number_integer());
    }
    std::string dumped = listed.dump();
    CHECK(dumped.find(ci_token) == std::string::npos);
    CHECK(dumped.find(Authenticator::token_hash(ci_token)) == std::string::npos);
    CHECK(dumped.find(Authenticator::token_hash(s.token)) == std::string::npos);

    // Authenticated once, then revoked: refused on the very next request.
    CHECK(s.call(bhttp::verb::get, "/api/v1/hosts", "", ci_token).result_int() == 200);
    auto revoked = s.call_json(bhttp::verb::delete_, "/api/v1/tokens/ci");
    CHECK(s.last_status == 200);
    CHECK(revoked["name"] == "ci");
    CHECK(!revoked.contains("token"));
    auto refused = s.call_json(bhttp::verb::get, "/api/v1/hosts", "", ci_token);
    CHECK(s.last_status == 401);
    CHECK(refused["error"]["code"] == "unauthorized");
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/tokens")["tokens"].size() == 1);
    auto events = s.call_json(bhttp::verb::get, "/api/v1/events");
    CHECK(events["events"].back()["reason"] == "operator token ci revoked");

    auto unknown = s.call_json(bhttp::verb::delete_, "/api/v1/tokens/ci");
    CHECK(s.last_status == 404);
    CHECK(unknown["error"]["message"] == "no operator token named ci");
    s.call_json(bhttp::verb::delete_, "/api/v1/tokens/");
    CHECK(s.last_status == 404);

    auto last = s.call_json(bhttp::verb::delete_, "/api/v1/tokens/admin");
    CHECK(s.last_status == 409);
    CHECK(last["error"]["code"] == "conflict");
    CHECK(last["error"]["message"].get<std::string>().find("last operator token") !=
          std::string::npos);
    CHECK(s.call(bhttp::verb::get, "/api/v1/hosts").result_int() == 200);  // admin still works

    // A token may revoke itself while another remains.
    auto other = s.call_json(bhttp::verb::post, "/api/v1/tokens", R"({"name":"a/b c"})");
    REQUIRE(s.last_status == 201);
    std::string other_token = other["token"].get<std::string>();
    s.call_json(bhttp::verb::delete_, "/api/v1/tokens/a%2Fb%20c", "", other_token);
    CHECK(s.last_status == 200);
    CHECK(s.call(bhttp::verb::get, "/api/v1/tokens", "", other_token).result_int() == 401);

    // Host tokens and no token may neither list nor revoke.
    auto h1 = s.call_json(bhttp::verb::post, "/api/v1/hosts", host_body("52:54:00:00:00:01", "h1"));
    REQUIRE(s.last_status == 201);
    std::string host_token = s.auth->dom0_token(*s.store->get_host(h1["id"].get<HostId>())).value();
    CHECK(s.call(bhttp::verb::get, "/api/v1/tokens", "", host_token).result_int() == 403);
    CHECK(s.call(bhttp::verb::delete_, "/api/v1/tokens/admin", "", host_token).result_int() == 403);
    CHECK(s.call(bhttp::verb::get, "/api/v1/tokens", "", "").result_int() == 401);
    CHECK(s.call(bhttp::verb::delete_, "/api/v1/tokens/admin", "", "").result_int() == 401);
    CHECK(s.store->list_api_tokens()->size() == 1);
}

TEST_CASE("server api: malformed JSON, bad fields, duplicate and unknown MACs, oversized bodies") {
    Server s;
    auto bad = s.call_json(bhttp::verb::post, "/api/v1/hosts", "{not json");
    CHECK(s.last_status == 400);
    CHECK(bad["error"]["code"] == "invalid_argument");
    s.call_json(bhttp::verb::post, "/api/v1/hosts", R"(["a list"])");
    CHECK(s.last_status == 400);
    s.call_json(bhttp::verb::post, "/api/v1/hosts", host_body("52:54:00:00:00:zz", "h1"));
    CHECK(s.last_status == 400);
    s.call_json(bhttp::verb::post, "/api/v1/hosts", host_body("52:54:00:00:00:01", "bad name!"));
    CHECK(s.last_status == 400);
    s.call_json(bhttp::verb::post, "/api/v1/hosts", host_body("52:54:00:00:00:01", "h1"));
    CHECK(s.last_status == 201);
    auto dup = s.call_json(bhttp::verb::post, "/api/v1/hosts", host_body("52-54-00-00-00-01", "h2"));
    CHECK(s.last_status == 409);
    CHECK(dup["error"]["code"] == "conflict");
    s.call_json(bhttp::verb::get, "/api/v1/hosts/52:54:00:00:00:09");
    CHECK(s.last_status == 404);
    s.call_json(bhttp::verb::delete_, "/api/v1/hosts/nope");
    CHECK(s.last_status == 404);
    s.call_json(bhttp::verb::post, "/api/v1/hosts",
                json{{"mac", "52:54:00:00:00:02"}, {"name", std::string(2 << 20, 'a')}}.dump());
    CHECK(s.last_status == 413);
    CHECK(s.store->count_hosts({}).value() == 1);
    auto nothing = s.call_json(bhttp::verb::get, "/api/v1/nothing-here");
    CHECK(s.last_status == 404);
    CHECK(nothing["error"]["code"] == "not_found");
    auto wrong_method = s.call_json(bhttp::verb::put, "/api/v1/hosts");
    CHECK(s.last_status == 405);
    CHECK(wrong_method["error"]["code"] == "method_not_allowed");
}

TEST_CASE("server api: a CSV with bad lines imports nothing and names every line") {
    Server s;
    std::string csv = "mac,name,rack\n52:54:00:00:01:01,a1,r1\nnot-a-mac,a2,r1\n"
                      "52:54:00:00:01:03,a3,r1\n52:54:00:00:01:01,a4,r1\n";
    auto res = s.call(bhttp::verb::post, "/api/v1/hosts/import", csv);
    CHECK(res.result_int() == 400);
    auto body = json::parse(res.body());
    REQUIRE(body["error"]["lines"].size() == 2);
    CHECK(body["error"]["lines"][0]["line"] == 3);
    CHECK(body["error"]["lines"][1]["line"] == 5);
    CHECK(s.store->count_hosts({}).value() == 0);
    auto ok = s.call_json(bhttp::verb::post, "/api/v1/hosts/import",
                          "mac,name\n52:54:00:00:01:01,a1\n52:54:00:00:01:02,a2\n");
    CHECK(s.last_status == 200);
    CHECK(ok["imported"] == 2);
    auto listed = s.call_json(bhttp::verb::get, "/api/v1/hosts?selector=a*&limit=1");
    CHECK(listed["total"] == 2);
    CHECK(listed["hosts"].size() == 1);
    s.call_json(bhttp::verb::get, "/api/v1/hosts?limit=abc");
    CHECK(s.last_status == 400);
    s.call_json(bhttp::verb::get, "/api/v1/hosts?offset=-1");
    CHECK(s.last_status == 400);
}

TEST_CASE("server api: an unknown MAC asking for a boot script is recorded as discovered") {
    Server s;
    auto res = s.call(bhttp::verb::get, "/boot/52-54-00-00-00-0a.ipxe", "", "");
    CHECK(res.result_int() == 200);
    CHECK(res.body().find("provisioner.mode=discover") != std::string::npos);
    auto host = s.store->find_host(*Mac::parse("52:54:00:00:00:0a"));
    REQUIRE(host.is_ok());
    CHECK(host->state == HostState::discovered);
    // Its agent registers (facts, no token): the next script waits instead of booting it again.
    s.call_json(bhttp::verb::post, "/api/v1/agent/hello",
                R"({"mac":"52:54:00:00:00:0a","mode":"discover","facts":{"cpus":4}})", "");
    CHECK(s.last_status == 200);
    res = s.call(bhttp::verb::get, "/boot/52-54-00-00-00-0a.ipxe", "", "");
    CHECK(res.result_int() == 200);
    CHECK(res.body().find("provisioner.mode=discover") == std::string::npos);
    CHECK(res.body().find("waits for: provisioner host accept 52:54:00:00:00:0a") !=
          std::string::npos);
    CHECK(res.body().find("chain --replace --autofree") != std::string::npos);
    auto accepted = s.call_json(bhttp::verb::post, "/api/v1/hosts/52:54:00:00:00:0a/accept",
                                R"({"name":"rack1-h10"})");
    CHECK(s.last_status == 200);
    CHECK(accepted["state"] == "enrolled");
    CHECK(accepted["name"] == "rack1-h10");
    s.call_json(bhttp::verb::post, "/api/v1/hosts/rack1-h10/accept");
    CHECK(s.last_status == 409);  // not discovered any more
}

TEST_CASE("server api: images must be signed by the server's key") {
    Server s;
    auto image = s.import_image();
    CHECK(s.last_status == 201);
    CHECK(image["name"] == "dom0");
    s.import_image();  // the same name and version again
    CHECK(s.last_status == 409);
    testutil::TempDir other;
    REQUIRE(imaging::generate_keypair(other / "k").is_ok());
    auto foreign = imaging::SigningKey::load(other / "k.key");
    std::ofstream(other / "raw") << "data";
    imaging::PackOptions options;
    options.version = "9";
    REQUIRE(
        imaging::pack_image(other / "raw", s.import_dir() / "img", *foreign, options).is_ok());
    auto refused = s.call_json(bhttp::verb::post, "/api/v1/images",
                               json{{"path", (s.import_dir() / "img").string()}}.dump());
    CHECK(s.last_status == 400);
    CHECK(refused["error"]["message"].get<std::string>().find("does not verify") !=
          std::string::npos);
    s.call_json(bhttp::verb::post, "/api/v1/images", R"({"path":"/nonexistent"})");
    CHECK(s.last_status == 403);  // outside the import directories (test_server_imports.cc)
    s.call_json(bhttp::verb::post, "/api/v1/images",
                json{{"path", (s.import_dir() / "nonexistent").string()}}.dump());
    CHECK(s.last_status == 404);
}

TEST_CASE("server api: a deployment from hello to result, with the host token's scope") {
    Server s;
    s.import_image();
    for (auto [mac, name] : {std::pair{"52:54:00:00:00:01", "h1"}, {"52:54:00:00:00:02", "h2"}})
        s.call_json(bhttp::verb::post, "/api/v1/hosts", host_body(mac, name));
    auto d = s.call_json(bhttp::verb::post, "/api/v1/deployments",
                         R"({"image":"dom0@1","hosts":"h*","transport":"auto"})");
    REQUIRE(s.last_status == 201);
    CHECK(d["transport"] == "delta");  // 2 hosts: below the threshold of 3
    CHECK(d["targets"].size() == 2);
    CHECK(d["counts"]["pending"] == 2);
    DeploymentId id = d["id"];
    auto h1 = *s.store->find_host_by_name("h1");
    auto h2 = *s.store->find_host_by_name("h2");
    CHECK(h1.state == HostState::booting);
    // Its boot script now netboots the agent with its own token.
    auto script = s.call(bhttp::verb::get, "/boot/52-54-00-00-00-01.ipxe", "", "");
    CHECK(script.body().find("provisioner.token=" + s.auth->boot_ticket(h1, id)) != std::string::npos);
    // A second deployment of a busy host is refused.
    s.call_json(bhttp::verb::post, "/api/v1/deployments", R"({"image":"dom0","hosts":"h1"})");
    CHECK(s.last_status == 409);

    std::string t1 = s.auth->dom0_token(h1).value(), t2 = s.auth->dom0_token(h2).value();
    std::string hello1 = R"({"mac":"52:54:00:00:00:01","mode":"image","facts":{"cpu":{"cores":4}}})";
    s.call_json(bhttp::verb::post, "/api/v1/agent/hello", hello1, "");
    CHECK(s.last_status == 401);
    s.call_json(bhttp::verb::post, "/api/v1/agent/hello", hello1, t2);  // h2's token for h1
    CHECK(s.last_status == 403);
    s.call_json(bhttp::verb::post, "/api/v1/agent/hello", hello1, s.token);
    CHECK(s.last_status == 403);
    // The delta server is "running" (fake) but not listening: the agent is told to wait.
    s.orchestrator->tick();
    REQUIRE(s.launcher.spawned.size() == 1);
    CHECK(s.launcher.spawned[0][1] == "serve");
    auto wait = s.call_json(bhttp::verb::post, "/api/v1/agent/hello", hello1, t1);
    CHECK(wait["action"] == "wait");
    CHECK(s.store->find_host_by_name("h1")->facts_json.find("cores") != std::string::npos);

    // Progress and result for a host that has not had its job are refused.
    s.call_json(bhttp::verb::post, "/api/v1/agent/result",
                json{{"deployment", id}, {"ok", true}}.dump(), t1);
    CHECK(s.last_status == 409);
    s.call_json(bhttp::verb::post, "/api/v1/agent/progress", R"({"deployment":1})", t1);
    CHECK(s.last_status == 400);
    CHECK(s.store->find_host_by_name("h1")->state == HostState::booting);
}

TEST_CASE("server api: multicast jobs, failure of one host does not stop the other, recovery") {
    Server s;
    json image = s.import_image();
    for (auto [mac, name] : {std::pair{"52:54:00:00:00:01", "h1"}, {"52:54:00:00:00:02", "h2"},
                             {"52:54:00:00:00:03", "h3"}})
        s.call_json(bhttp::verb::post, "/api/v1/hosts", host_body(mac, name));
    auto d = s.call_json(bhttp::verb::post, "/api/v1/deployments", R"({"image":"dom0","hosts":"all"})");
    REQUIRE(s.last_status == 201);
    CHECK(d["transport"] == "multicast");  // 3 hosts: the threshold
    DeploymentId id = d["id"];
    s.orchestrator->tick();
    REQUIRE(s.launcher.spawned.size() == 1);
    auto& argv = s.launcher.spawned[0];
    CHECK(argv[1] == "send");
    CHECK(std::find(argv.begin(), argv.end(), "--min-receivers") != argv.end());
    auto token = [&](const char* name) { return s.auth->dom0_token(*s.store->find_host_by_name(name)).value(); };
    auto hello = [&](const char* mac, const char* name) {
        return s.call_json(bhttp::verb::post, "/api/v1/agent/hello",
                           json{{"mac", mac}, {"mode", "image"}}.dump(), token(name));
    };
    auto job = hello("52:54:00:00:00:01", "h1");
    REQUIRE(job["action"] == "image");
    CHECK(job["job"]["transport"] == "multicast");
    CHECK(job["job"]["multicast"]["port"].is_number());
    CHECK(job["job"]["pubkey"] == "PEM");
    CHECK(s.store->find_host_by_name("h1")->state == HostState::imaging);
    hello("52:54:00:00:00:02", "h2");
    s.call_json(bhttp::verb::post, "/api/v1/agent/progress",
                json{{"deployment", id}, {"bytes_done", 50}, {"bytes_total", 100}}.dump(), token("h1"));
    CHECK(s.last_status == 204);
    auto shown = s.call_json(bhttp::verb::get, "/api/v1/deployments/" + std::to_string(id));
    CHECK(shown["targets"][0]["bytes_done"] == 50);
    CHECK(shown["counts"]["running"] == 2);
    auto reboot = s.call_json(bhttp::verb::post, "/api/v1/agent/result",
                              json{{"deployment", id}, {"ok", false}, {"error", "disk on fire"}}.dump(),
                              token("h2"));
    CHECK(reboot["action"] == "reboot");
    CHECK(s.store->find_host_by_name("h2")->state == HostState::failed);
    const std::string ok_body =
        json{{"deployment", id}, {"ok", true},
             {"result", {{"bytes_received", 10}, {"sha256", image["image_sha256"]}}}}
            .dump();
    // Before its sender confirms the delivery: taken, held, not believed.
    auto held = s.call_json(bhttp::verb::post, "/api/v1/agent/result", ok_body, token("h1"));
    CHECK(s.last_status == 202);
    CHECK(held["action"] == "reboot");
    CHECK(held["held"].get<std::string>().find("no delivery confirmed by the sender") !=
          std::string::npos);
    CHECK(s.store->find_host_by_name("h1")->state == HostState::imaging);
    sender_confirms(s, id, "h1", image);
    s.orchestrator->tick();  // reads the sender's log: the held result is believed now
    auto h1 = *s.store->find_host_by_name("h1");
    CHECK(h1.state == HostState::imaged);
    CHECK(h1.image.has_value());
    CHECK(s.call(bhttp::verb::get, "/boot/52-54-00-00-00-01.ipxe", "", "").body().find("sanboot") !=
          std::string::npos);
    CHECK(s.store->get_deployment(id)->state == DeploymentState::running);  // h3 still pending

    // The server dies here; the next start finds h3 booting and the deployment running.
    auto report = recover_interrupted(*s.store);
    REQUIRE(report.is_ok());
    CHECK(report->deployments_interrupted.size() == 1);
    CHECK(s.store->find_host_by_name("h3")->state == HostState::failed);
    CHECK(is_deployable(s.store->find_host_by_name("h3")->state));
    CHECK(s.store->find_host_by_name("h1")->state == HostState::imaged);
}

TEST_CASE("server api: a result for another image than the job's is refused, never imaged") {
    Server s;
    json image = s.import_image();
    for (auto [mac, name] : {std::pair{"52:54:00:00:00:01", "h1"}, {"52:54:00:00:00:02", "h2"},
                             {"52:54:00:00:00:03", "h3"}})
        s.call_json(bhttp::verb::post, "/api/v1/hosts", host_body(mac, name));
    auto d = s.call_json(bhttp::verb::post, "/api/v1/deployments",
                         R"({"image":"dom0","hosts":"all","transport":"multicast"})");
    REQUIRE(s.last_status == 201);
    DeploymentId id = d["id"];
    s.orchestrator->tick();
    auto token = [&](const char* name) { return s.auth->dom0_token(*s.store->find_host_by_name(name)).value(); };
    for (auto [mac, name] : {std::pair{"52:54:00:00:00:01", "h1"}, {"52:54:00:00:00:02", "h2"},
                             {"52:54:00:00:00:03", "h3"}}) {
        auto job = s.call_json(bhttp::verb::post, "/api/v1/agent/hello",
                               json{{"mac", mac}, {"mode", "image"}}.dump(), token(name));
        REQUIRE(job["action"] == "image");
        CHECK(job["job"]["image"]["image_sha256"] == image["image_sha256"]);
    }
    auto post = [&](const char* name, json result) {
        return s.call_json(bhttp::verb::post, "/api/v1/agent/result",
                           json{{"deployment", id}, {"ok", true}, {"result", result}}.dump(),
                           token(name));
    };
    // Another validly signed image (a rogue sender's) reported as a success.
    auto refused = post("h1", {{"sha256", std::string(64, 'f')}});
    CHECK(s.last_status == 409);
    CHECK(refused["error"]["message"].get<std::string>().find("sha256") != std::string::npos);
    auto h1 = *s.store->find_host_by_name("h1");
    CHECK(h1.state == HostState::failed);
    CHECK_FALSE(h1.image.has_value());
    // No sha256 at all, or one of the wrong type, is no proof either.
    post("h2", {{"bytes_received", "lots"}, {"sha256", 7}});
    CHECK(s.last_status == 409);
    CHECK(s.store->find_host_by_name("h2")->state == HostState::failed);
    s.call_json(bhttp::verb::post, "/api/v1/agent/result",
                json{{"deployment", id}, {"ok", true}, {"result", json::array()}}.dump(), token("h3"));
    CHECK(s.last_status == 400);
    sender_confirms(s, id, "h3", image);
    post("h3", {{"sha256", image["image_sha256"]}});
    CHECK(s.last_status == 200);
    CHECK(s.store->find_host_by_name("h3")->state == HostState::imaged);
}

TEST_CASE("server api: JSON nested 100,000 deep is refused on every route and changes nothing") {
    Server s;
    std::string deep = std::string(100000, '[') + std::string(100000, ']');
    std::string hello = R"({"mac":"52:54:00:00:00:09","mode":"discover","facts":)" + deep + "}";
    auto answer = s.call_json(bhttp::verb::post, "/api/v1/agent/hello", hello, "");
    CHECK(s.last_status == 400);
    CHECK(answer["error"]["message"].get<std::string>().find("nested deeper") != std::string::npos);
    CHECK(s.store->count_hosts({}).value() == 0);
    for (const char* target : {"/api/v1/hosts", "/api/v1/deployments", "/api/v1/agent/result",
                               "/api/v1/agent/progress", "/api/v1/agent/ready"}) {
        s.call_json(bhttp::verb::post, target, deep);
        CHECK_MESSAGE(s.last_status >= 400, target);
        CHECK_MESSAGE(s.last_status < 500, target);
    }
    // Just within the limit (the body, facts, x and the arrays) is still parsed.
    std::string nested = std::string(kMaxJsonDepth - 2, '[') + std::string(kMaxJsonDepth - 2, ']');
    s.call_json(bhttp::verb::post, "/api/v1/agent/hello",
                R"({"mac":"52:54:00:00:00:09","mode":"discover","facts":{"x":)" + nested + "}}", "");
    CHECK(s.last_status == 200);
}

TEST_CASE("server api: a boot ticket is good for one hello; deployment and Dom0 tokens") {
    Server s;
    json image = s.import_image();
    for (auto [mac, name] : {std::pair{"52:54:00:00:00:01", "h1"}, {"52:54:00:00:00:02", "h2"},
                             {"52:54:00:00:00:03", "h3"}})
        s.call_json(bhttp::verb::post, "/api/v1/hosts", host_body(mac, name));
    auto h1 = *s.store->find_host_by_name("h1");
    std::string old_dom0 = s.auth->dom0_token(h1).value();
    CHECK(old_dom0.starts_with("h" + std::to_string(h1.id) + "_0_"));
    auto d = s.call_json(bhttp::verb::post, "/api/v1/deployments",
                         R"({"image":"dom0","hosts":"all","transport":"multicast"})");
    REQUIRE(s.last_status == 201);
    DeploymentId id = d["id"];
    s.orchestrator->tick();

    // What an observer of the PXE network sees: the script, with the ticket only.
    auto script = s.call(bhttp::verb::get, "/boot/52-54-00-00-00-01.ipxe", "", "");
    std::string ticket = s.auth->boot_ticket(h1, id);
    CHECK(script.body().find("provisioner.token=" + ticket) != std::string::npos);
    CHECK(script.body().find(old_dom0) == std::string::npos);
    // A ticket is no key to anything but hello.
    s.call_json(bhttp::verb::get, "/api/v1/hosts", "", ticket);
    CHECK(s.last_status == 403);
    s.call_json(bhttp::verb::post, "/api/v1/agent/ready", R"({"capacity":{}})", ticket);
    CHECK(s.last_status == 403);
    s.call_json(bhttp::verb::post, "/api/v1/agent/progress",
                json{{"deployment", id}, {"bytes_done", 1}, {"bytes_total", 2}}.dump(), ticket);
    CHECK(s.last_status == 403);
    std::string hello1 = R"({"mac":"52:54:00:00:00:01","mode":"image"})";
    s.call_json(bhttp::verb::post, "/api/v1/agent/hello",
                R"({"mac":"52:54:00:00:00:02","mode":"image"})", ticket);
    CHECK(s.last_status == 403);  // h1's ticket for h2

    auto job = s.call_json(bhttp::verb::post, "/api/v1/agent/hello", hello1, ticket);
    REQUIRE(job["action"] == "image");
    std::string token = job["job"]["token"], dom0 = job["job"]["dom0_token"];
    CHECK(token == s.auth->deployment_token(h1, id));
    CHECK(dom0 == s.auth->dom0_token(h1, id));
    // The deployment token: hello again, progress and result of its own deployment only.
    CHECK(s.call_json(bhttp::verb::post, "/api/v1/agent/hello", hello1, token)["action"] == "image");
    s.call_json(bhttp::verb::post, "/api/v1/agent/progress",
                json{{"deployment", id}, {"bytes_done", 1}, {"bytes_total", 2}}.dump(), token);
    CHECK(s.last_status == 204);
    s.call_json(bhttp::verb::post, "/api/v1/agent/progress",
                json{{"deployment", id + 1}, {"bytes_done", 1}, {"bytes_total", 2}}.dump(), token);
    CHECK(s.last_status == 403);
    s.call_json(bhttp::verb::post, "/api/v1/agent/ready", R"({"capacity":{}})", token);
    CHECK(s.last_status == 403);
    // The new Dom0 token is not good before the imaging succeeds; the old one still is.
    s.call_json(bhttp::verb::post, "/api/v1/agent/ready", R"({"capacity":{}})", dom0);
    CHECK(s.last_status == 401);
    sender_confirms(s, id, "h1", image);
    s.call_json(bhttp::verb::post, "/api/v1/agent/result",
                json{{"deployment", id},
                     {"ok", true},
                     {"result", {{"sha256", image["image_sha256"]}}}}
                    .dump(),
                token);
    CHECK(s.last_status == 200);
    // Finished: its deployment token is over; the old Dom0 token is retired, the new one works.
    s.call_json(bhttp::verb::post, "/api/v1/agent/hello", hello1, token);
    CHECK(s.last_status == 401);
    s.call_json(bhttp::verb::post, "/api/v1/agent/ready", R"({"capacity":{}})", old_dom0);
    CHECK(s.last_status == 401);
    s.call_json(bhttp::verb::post, "/api/v1/agent/ready", R"({"capacity":{}})", dom0);
    CHECK(s.last_status == 204);
    auto settings = s.call_json(bhttp::verb::get, "/api/v1/hosts/h1/dom0");
    CHECK(s.last_status == 200);
    CHECK(settings["token"] == dom0);
    CHECK(settings["cmdline"].get<std::string>().find("provisioner.token=" + dom0) !=
          std::string::npos);
    s.call_json(bhttp::verb::get, "/api/v1/hosts/h1/dom0", "", dom0);
    CHECK(s.last_status == 403);  // an operator's, not a host's
    s.call_json(bhttp::verb::get, "/api/v1/hosts/h1/other");
    CHECK(s.last_status == 404);

    // A ticket used twice (h3's): refused, said, and that host's part fails, since whoever
    // said hello first holds a job naming the image's sha256 and could claim a success.
    auto h3 = *s.store->find_host_by_name("h3");
    std::string hello3 = R"({"mac":"52:54:00:00:00:03","mode":"image"})";
    auto job3 = s.call_json(bhttp::verb::post, "/api/v1/agent/hello", hello3,
                            s.auth->boot_ticket(h3, id));
    REQUIRE(job3["action"] == "image");
    auto again = s.call_json(bhttp::verb::post, "/api/v1/agent/hello", hello3,
                             s.auth->boot_ticket(h3, id));
    CHECK(s.last_status == 401);
    CHECK(again["error"]["message"].get<std::string>().find("used") != std::string::npos);
    auto events = s.call_json(bhttp::verb::get, "/api/v1/events");
    bool said = false;
    for (const auto& e : events["events"])
        said |= e["reason"].get<std::string>().find("boot ticket of deployment " +
                                                    std::to_string(id) + " used again") !=
                std::string::npos;
    CHECK(said);
    s.call_json(bhttp::verb::post, "/api/v1/agent/result",
                json{{"deployment", id}, {"ok", true}, {"result", {{"sha256", image["image_sha256"]}}}}
                    .dump(),
                job3["job"]["token"].get<std::string>());
    CHECK(s.last_status == 409);
    CHECK(s.store->find_host_by_name("h3")->state == HostState::failed);
    CHECK_FALSE(s.store->find_host_by_name("h3")->image.has_value());

    // A ticket past its lifetime is refused even unused.
    s.config.boot_ticket_lifetime = std::chrono::seconds(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto h2 = *s.store->find_host_by_name("h2");
    auto expired = s.call_json(bhttp::verb::post, "/api/v1/agent/hello",
                               R"({"mac":"52:54:00:00:00:02","mode":"image"})",
                               s.auth->boot_ticket(h2, id));
    CHECK(s.last_status == 401);
    CHECK(expired["error"]["message"].get<std::string>().find("expired") != std::string::npos);
    // A ticket of another deployment (one this host is not in) is refused.
    s.call_json(bhttp::verb::post, "/api/v1/agent/hello",
                R"({"mac":"52:54:00:00:00:02","mode":"image"})", s.auth->boot_ticket(h2, id + 7));
    CHECK(s.last_status == 401);
}

TEST_CASE("server api: /health says what is wrong, with 503") {
    Server s;
    auto well = s.call_json(bhttp::verb::get, "/api/v1/health", "", "");
    CHECK(s.last_status == 200);
    CHECK(well["ok"] == true);
    CHECK(well["checks"]["process_loop"]["ok"] == true);
    CHECK(well["checks"]["store"]["ok"] == true);
    CHECK_FALSE(well["checks"].contains("dhcp"));  // this server runs none
    s.orchestrator->tick();
    CHECK(s.orchestrator->tick_age() < std::chrono::seconds(1));

    s.ctx->dhcp_problem = [] { return std::string("dnsmasq is not running (restarted 3 times)"); };
    auto res = s.call(bhttp::verb::get, "/api/v1/health", "", "");
    CHECK(res.result_int() == 503);
    CHECK(res[bhttp::field::retry_after] == "5");
    auto sick = json::parse(res.body());
    CHECK(sick["ok"] == false);
    CHECK(sick["reason"] == "dhcp: dnsmasq is not running (restarted 3 times)");
    CHECK(sick["checks"]["dhcp"]["ok"] == false);
}

TEST_CASE("server api: a path that is not UTF-8 is answered, not thrown (found by fuzz_api_requests)") {
    Server s;
    auto res = s.call(bhttp::verb::get, "/api/v1/hosts/caf\xe9");
    CHECK(res.result_int() == 404);
    auto body = json::parse(res.body(), nullptr, false);
    REQUIRE_FALSE(body.is_discarded());
    CHECK(body["error"]["code"] == "not_found");
}
