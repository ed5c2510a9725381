// provisionerd's hosts' BMCs and power (power_service.h, api_power.cc) against fake BMCs: the
// API, the power state kept with an event per change, deployments that power their hosts, a
// BMC failure failing only its host, and the password in no answer, event or log.
#include <doctest/doctest.h>

#include "power_service.h"
#include "test_power_fake.h"
#include "test_server_fixture.h"

using namespace servertest;
using namespace std::chrono_literals;
namespace pw = provisioner::power;

namespace {

constexpr const char* kPassword = "Tr0ub4dor-hunter2";

// A server whose PowerService makes FakeDrivers: one FakeBmc per BMC address.
struct PowerServer : Server {
    std::map<std::string, std::shared_ptr<FakeBmc>> bmcs;
    std::mutex bmcs_mu;
    std::vector<std::string> log_lines;
    std::vector<pw::BmcConfig> made;

    PowerServer() {
        PowerService::Options options;
        options.poll_interval = 0ms;
        options.retry = pw::RetryPolicy{3, 1ms, 2ms, 1000ms};
        options.disk_before_reboot = 200ms;
        ctx->power = std::make_shared<PowerService>(
            *store, auth->secret(), options,
            [this](const pw::BmcConfig& c) -> provisioner::Result<std::unique_ptr<pw::PowerDriver>> {
                std::lock_guard lock(bmcs_mu);
                made.push_back(c);
                auto& b = bmcs[c.address];
                if (!b) {
                    b = std::make_shared<FakeBmc>();
                    b->name = c.address;
                }
                return std::unique_ptr<pw::PowerDriver>(std::make_unique<FakeDriver>(b));
            },
            base::real_clock(), [this](const std::string& line) { log_lines.push_back(line); });
        ctx->power->set_fail_host([this](HostId h, DeploymentId d, const std::string& why) {
            return orchestrator->fail_host(h, d, why);
        });
    }
    std::shared_ptr<FakeBmc> bmc(const std::string& address) {
        std::lock_guard lock(bmcs_mu);
        auto& b = bmcs[address];
        if (!b) {
            b = std::make_shared<FakeBmc>();
            b->name = address;
        }
        return b;
    }
    void add_host(const std::string& name, const std::string& mac) {
        call_json(bhttp::verb::post, "/api/v1/hosts", json{{"mac", mac}, {"name", name}}.dump());
        REQUIRE(last_status == 201);
    }
    json set_bmc(const std::string& host, const std::string& address) {
        return call_json(bhttp::verb::post, "/api/v1/hosts/" + host + "/bmc",
                         json{{"driver", "ipmi"},
                              {"address", address},
                              {"username", "admin"},
                              {"password", kPassword}}
                             .dump());
    }
    std::string every_answer_and_event() {
        std::string all = call(bhttp::verb::get, "/api/v1/hosts").body();
        all += call(bhttp::verb::get, "/api/v1/events").body();
        for (const auto& h : *store->list_hosts({})) {
            all += call(bhttp::verb::get, "/api/v1/hosts/" + h.name).body();
            all += call(bhttp::verb::get, "/api/v1/hosts/" + h.name + "/bmc").body();
        }
        for (const auto& row : *store->list_host_bmcs()) all += row.body;
        for (const auto& line : log_lines) all += line;
        return all;
    }
};

}  // namespace

TEST_SUITE("server power") {

TEST_CASE("a host's BMC is kept sealed, shown without its password, and powers the host") {
    PowerServer s;
    s.add_host("h1", "52:54:00:00:00:01");
    json set = s.set_bmc("h1", "10.0.0.1:623");
    REQUIRE(s.last_status == 200);
    CHECK(set["bmc"]["driver"] == "ipmi");
    CHECK(set["bmc"]["power"] == "unknown");
    CHECK(!set["bmc"].contains("password"));

    json on = s.call_json(bhttp::verb::post, "/api/v1/power",
                          json{{"action", "on"}, {"hosts", "h1"}}.dump());
    REQUIRE(s.last_status == 200);
    CHECK(on["failed"] == 0);
    CHECK(on["results"][0]["ok"] == true);
    CHECK(on["results"][0]["power"] == "on");
    CHECK(s.bmc("10.0.0.1:623")->calls() == std::vector<std::string>{"power on"});
    {
        std::lock_guard lock(s.bmcs_mu);
        REQUIRE(s.made.size() == 1);
        CHECK(s.made[0].password == kPassword);  // opened for the driver, in memory
    }

    json listed = s.call_json(bhttp::verb::get, "/api/v1/hosts");
    CHECK(listed["hosts"][0]["power"]["power"] == "on");
    json shown = s.call_json(bhttp::verb::get, "/api/v1/hosts/h1");
    CHECK(shown["power"]["power"] == "on");
    bool event = false;
    for (const auto& e : shown["events"])
        event = event || e["reason"] == "power unknown -> on";
    CHECK(event);

    // cycle of a host that is on is a cycle; status reads it.
    s.call_json(bhttp::verb::post, "/api/v1/power",
                json{{"action", "cycle"}, {"hosts", "h1"}}.dump());
    CHECK(s.bmc("10.0.0.1:623")->calls().back() == "power cycle");
    s.bmc("10.0.0.1:623")->state = pw::PowerState::off;
    s.ctx->power->poll_once();
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/hosts/h1")["power"]["power"] == "off");

    CHECK(s.every_answer_and_event().find(kPassword) == std::string::npos);
}

TEST_CASE("a BMC's typed error is answered, kept and shown; the password never") {
    PowerServer s;
    s.add_host("h1", "52:54:00:00:00:01");
    s.add_host("h2", "52:54:00:00:00:02");
    s.set_bmc("h1", "10.0.0.1:623");
    s.set_bmc("h2", "10.0.0.2:623");
    s.bmc("10.0.0.2:623")->always(pw::BmcError::authentication);
    json r = s.call_json(bhttp::verb::post, "/api/v1/power",
                         json{{"action", "status"}, {"hosts", "all"}}.dump());
    REQUIRE(s.last_status == 200);
    CHECK(r["failed"] == 1);
    for (const auto& a : r["results"]) {
        if (a["name"] == "h2") {
            CHECK(a["error_kind"] == "authentication");
            CHECK(a["attempts"] == 1);
        } else {
            CHECK(a["ok"] == true);
        }
    }
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/hosts/h2")["power"]["error_kind"] ==
          "authentication");
    s.bmc("10.0.0.1:623")->always(pw::BmcError::busy);
    r = s.call_json(bhttp::verb::post, "/api/v1/power",
                    json{{"action", "off"}, {"hosts", "h1"}}.dump());
    CHECK(r["results"][0]["error_kind"] == "busy");
    CHECK(r["results"][0]["attempts"] == 3);
    CHECK(s.every_answer_and_event().find(kPassword) == std::string::npos);
}

TEST_CASE("bad BMC settings and power requests are refused, and nothing is kept") {
    PowerServer s;
    s.add_host("h1", "52:54:00:00:00:01");
    s.call_json(bhttp::verb::post, "/api/v1/hosts/h1/bmc",
                json{{"driver", "telnet"}, {"address", "x"}}.dump());
    CHECK(s.last_status == 400);
    s.call_json(bhttp::verb::post, "/api/v1/hosts/h1/bmc",
                json{{"driver", "redfish"}, {"address", "http://x"}, {"username", "u"}}.dump());
    CHECK(s.last_status == 400);
    CHECK(s.store->list_host_bmcs()->empty());
    s.call_json(bhttp::verb::get, "/api/v1/hosts/h1/bmc");
    CHECK(s.last_status == 404);
    s.call_json(bhttp::verb::post, "/api/v1/power",
                json{{"action", "sideways"}, {"hosts", "h1"}}.dump());
    CHECK(s.last_status == 400);
    json r = s.call_json(bhttp::verb::post, "/api/v1/power",
                         json{{"action", "on"}, {"hosts", "h1"}}.dump());
    CHECK(r["results"][0]["error_kind"] == "unsupported");
    CHECK(r["results"][0]["error"].get<std::string>().find("has no BMC") != std::string::npos);
    // A BMC set again without a password keeps the one stored.
    s.set_bmc("h1", "10.0.0.1:623");
    s.call_json(bhttp::verb::post, "/api/v1/hosts/h1/bmc",
                json{{"driver", "ipmi"}, {"address", "10.0.0.9:623"}, {"username", "root"}}.dump());
    REQUIRE(s.last_status == 200);
    s.call_json(bhttp::verb::post, "/api/v1/power", json{{"action", "on"}, {"hosts", "h1"}}.dump());
    {
        std::lock_guard lock(s.bmcs_mu);
        CHECK(s.made.back().address == "10.0.0.9:623");
        CHECK(s.made.back().password == kPassword);
    }
    s.call_json(bhttp::verb::delete_, "/api/v1/hosts/h1/bmc");
    CHECK(s.last_status == 200);
    CHECK(s.store->list_host_bmcs()->empty());
}

TEST_CASE("a deployment boots its BMC hosts by PXE; a BMC that fails fails only its host") {
    PowerServer s;
    s.import_image();
    s.add_host("h1", "52:54:00:00:00:01");
    s.add_host("h2", "52:54:00:00:00:02");
    s.add_host("h3", "52:54:00:00:00:03");
    s.set_bmc("h1", "10.0.0.1:623");
    s.set_bmc("h2", "10.0.0.2:623");  // h3 has none: its operator powers it
    s.bmc("10.0.0.2:623")->always(pw::BmcError::unreachable);
    s.bmc("10.0.0.1:623")->state = pw::PowerState::on;
    json d = s.call_json(bhttp::verb::post, "/api/v1/deployments",
                         json{{"image", "dom0@1"}, {"hosts", "all"}, {"transport", "delta"}}.dump());
    REQUIRE(s.last_status == 201);
    const std::string id = std::to_string(d["id"].get<int>());
    // The calls run off the request's thread: wait for h2's part to fail.
    json shown;
    for (int i = 0; i < 500; ++i) {
        shown = s.call_json(bhttp::verb::get, "/api/v1/deployments/" + id);
        bool h2_failed = false;
        for (const auto& t : shown["targets"])
            h2_failed = h2_failed || (t["name"] == "h2" && t["state"] == "failed");
        if (h2_failed) break;
        std::this_thread::sleep_for(10ms);
    }
    for (const auto& t : shown["targets"]) {
        if (t["name"] == "h2") {
            CHECK(t["state"] == "failed");
            CHECK(t["error"].get<std::string>().find("BMC unreachable") == 0);
        } else {
            CHECK(t["state"] == "pending");
        }
    }
    CHECK(shown["state"] == "running");
    for (int i = 0; i < 500 && s.bmc("10.0.0.1:623")->calls().size() < 3; ++i)
        std::this_thread::sleep_for(10ms);
    // h1 was on: PXE once, read, cycled.
    CHECK(s.bmc("10.0.0.1:623")->calls() ==
          std::vector<std::string>{"boot pxe", "status", "power cycle"});
    CHECK(s.bmc("10.0.0.1:623")->next_boot == "pxe");
    CHECK(s.every_answer_and_event().find(kPassword) == std::string::npos);
}

TEST_CASE("an imaged host boots its disk next before its agent is told to reboot, once") {
    PowerServer s;
    json image = s.import_image();
    s.add_host("h1", "52:54:00:00:00:01");
    s.add_host("h2", "52:54:00:00:00:02");
    s.add_host("h3", "52:54:00:00:00:03");
    s.set_bmc("h1", "10.0.0.1:623");
    s.set_bmc("h2", "10.0.0.2:623");  // h3 has none: its answer is as it always was
    json d = s.call_json(
        bhttp::verb::post, "/api/v1/deployments",
        json{{"image", "dom0@1"}, {"hosts", "all"}, {"transport", "multicast"}}.dump());
    REQUIRE(s.last_status == 201);
    const DeploymentId id = d["id"];
    for (int i = 0; i < 500 && (s.bmc("10.0.0.1:623")->calls().size() < 3 ||
                                s.bmc("10.0.0.2:623")->calls().size() < 3);
         ++i)
        std::this_thread::sleep_for(10ms);
    const std::vector<std::string> booted{"boot pxe", "status", "power on"};
    REQUIRE(s.bmc("10.0.0.1:623")->calls() == booted);
    s.orchestrator->tick();
    auto token = [&](const char* name) {
        return s.auth->dom0_token(*s.store->find_host_by_name(name)).value();
    };
    auto result = [&](const char* mac, const char* name) {
        json job = s.call_json(bhttp::verb::post, "/api/v1/agent/hello",
                               json{{"mac", mac}, {"mode", "image"}}.dump(), token(name));
        REQUIRE(job["action"] == "image");
        return s.call_json(bhttp::verb::post, "/api/v1/agent/result",
                           json{{"deployment", id},
                                {"ok", true},
                                {"result", {{"bytes_received", 10}, {"sha256", image["image_sha256"]}}}}
                               .dump(),
                           token(name));
    };
    // h1: by the time the agent reads "reboot", the BMC has its next boot set to disk; no
    // power cycle follows (the agent's reboot is the one restart).
    CHECK(result("52:54:00:00:00:01", "h1")["action"] == "reboot");
    CHECK(s.bmc("10.0.0.1:623")->calls() ==
          std::vector<std::string>{"boot pxe", "status", "power on", "boot disk"});
    CHECK(s.bmc("10.0.0.1:623")->next_boot == "disk");
    // h2's BMC is slower than the server waits (here 200 ms): the agent is answered all the
    // same, and the call still reaches the BMC.
    s.bmc("10.0.0.2:623")->really_takes = 600ms;
    const auto before = std::chrono::steady_clock::now();
    CHECK(result("52:54:00:00:00:02", "h2")["action"] == "reboot");
    CHECK(std::chrono::steady_clock::now() - before < 550ms);
    for (int i = 0; i < 300 && s.bmc("10.0.0.2:623")->calls().size() < 4; ++i)
        std::this_thread::sleep_for(10ms);
    CHECK(s.bmc("10.0.0.2:623")->calls().back() == "boot disk");
    // h3 without a BMC: answered as before, no BMC touched.
    CHECK(result("52:54:00:00:00:03", "h3")["action"] == "reboot");
    std::this_thread::sleep_for(50ms);
    CHECK(s.bmc("10.0.0.1:623")->calls().size() == 4);
    const json shown = s.call_json(bhttp::verb::get, "/api/v1/hosts/h1");
    bool event = false;
    for (const auto& e : shown["events"])
        event = event || e["reason"] == "deployment " + std::to_string(id) +
                                            ": imaged; next boot disk (once), before its agent "
                                            "reboots it";
    CHECK(event);
}

}  // TEST_SUITE
