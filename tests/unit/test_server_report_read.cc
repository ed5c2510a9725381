// POST /api/v1/agent/vms reads its body with no DOM (wire::read_dom0_report) and leaves what
// that reader gives up on to the DOM path: the answers to bad reports are what they were, and
// the reports that reader leaves (a null, a key given twice) are still kept.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "test_server_fixture.h"

using namespace servertest;

namespace {

struct ReportServer : Server {
    ReportServer() {
        for (auto [mac, name, ip] : {std::tuple{"52:54:00:00:02:01", "h1", "10.77.2.11"},
                                     std::tuple{"52:54:00:00:02:02", "h2", "10.77.2.12"}}) {
            call_json(bhttp::verb::post, "/api/v1/hosts",
                      json{{"mac", mac}, {"name", name}, {"ip", ip}, {"rack", "r7"}}.dump());
            REQUIRE(last_status == 201);
        }
        token = auth->dom0_token(*store->find_host_by_name("h1")).value();
    }
    // The answer to text as h1's report: its status in last_status, the error's message.
    std::string post(const std::string& text) {
        json out = call_json(bhttp::verb::post, "/api/v1/agent/vms", text, token);
        return out.is_object() && out.contains("error") ? out["error"].value("message", "") : "";
    }
    // The VMs h1's last report holds (not those flagged missing since).
    std::vector<std::string> reported_vms() {
        std::vector<std::string> names;
        const json listed = call_json(bhttp::verb::get, "/api/v1/vms");
        for (const json& vm : listed["vms"])
            if (!vm.contains("missing")) names.push_back(vm["name"].get<std::string>());
        return names;
    }
    std::string token;
};

}  // namespace

TEST_CASE("server vms: a report read without a DOM; a bad one answered as the DOM path did") {
    ReportServer s;
    const std::string capacity = R"("capacity": {"vcpus": 8, "memory_mib": 16384})";
    // Well-formed, with the host's own MAC in either form.
    CHECK(s.post("{\"mac\": \"52-54-00-00-02-01\", " + capacity +
                 R"(, "vms": [{"name": "web1", "state": "running"}]})") == "");
    CHECK(s.last_status == 200);
    CHECK(s.reported_vms() == std::vector<std::string>{"web1"});
    // The reports the SAX reader leaves to the DOM are kept all the same.
    CHECK(s.post("{" + capacity +
                 R"(, "vms": [{"name": "web2", "template": null}], "metrics": null})") == "");
    CHECK(s.last_status == 200);
    CHECK(s.reported_vms() == std::vector<std::string>{"web2"});
    CHECK(s.post("{" + capacity + R"(, "vms": [{"name": "a"}], "vms": [{"name": "web3"}]})") == "");
    CHECK(s.last_status == 200);
    CHECK(s.reported_vms() == std::vector<std::string>{"web3"});

    // Another host's MAC: forbidden, well-formed or not.
    CHECK(s.post("{\"mac\": \"52:54:00:00:02:02\", " + capacity + "}") ==
          "this token is for 52:54:00:00:02:01, not 52:54:00:00:02:02");
    CHECK(s.last_status == 403);
    CHECK(s.post(R"({"mac": "52:54:00:00:02:02", "capacity": 1})") ==
          "this token is for 52:54:00:00:02:01, not 52:54:00:00:02:02");
    CHECK(s.last_status == 403);
    // A MAC that does not parse, or empty.
    CHECK_FALSE(s.post("{\"mac\": \"52:54\", " + capacity + "}").empty());
    CHECK(s.last_status == 400);
    CHECK(s.post("{\"mac\": \"\", " + capacity + "}") == "\"mac\" must be a non-empty string");
    CHECK(s.last_status == 400);
    // A field refused: named as decode<Dom0Report> names it.
    CHECK(s.post(R"({"capacity": {"vcpus": "8", "memory_mib": 1}})") ==
          "vms report: \"capacity.vcpus\" must be a non-negative integer, not a string");
    CHECK(s.last_status == 400);
    CHECK(s.post("{" + capacity + R"(, "vms": [{"name": "x", "metrics": {"state_code": 9}}]})") ==
          "vms report: \"vms[0].metrics.state_code\" must be at most 7");
    CHECK(s.last_status == 400);
    CHECK(s.post(R"({"vms": []})") == "vms report: \"capacity\" is missing");
    CHECK(s.last_status == 400);
    // Not JSON, not an object, too deep, too large.
    CHECK(s.post("{" + capacity).find("the body: malformed JSON at byte ") == 0);
    CHECK(s.last_status == 400);
    CHECK(s.post("[1]") == "the body must be a JSON object");
    CHECK(s.last_status == 400);
    CHECK(s.post(std::string(40, '[') + std::string(40, ']')).find("nested deeper") !=
          std::string::npos);
    CHECK(s.last_status == 400);
    s.post("{" + capacity + ", \"pad\": \"" + std::string(1 << 20, 'x') + "\"}");
    CHECK(s.last_status == 413);
    // None of them changed what h1 reported.
    CHECK(s.reported_vms() == std::vector<std::string>{"web3"});
}
