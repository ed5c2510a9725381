// The CLI's host power and host bmc (cmd_power.cc) against a fake provisionerd.
#include <doctest/doctest.h>

#include "test_cli_fake.h"

using namespace clitest;
using nlohmann::json;

TEST_CASE("cli: host power asks once for every host, prints each result, fails if one did") {
    FakeServer server;
    server.responses.push_back(json_response(
        200, {{"action", "status"},
              {"failed", 1},
              {"results",
               {{{"host", 1}, {"name", "h1"}, {"ok", true}, {"power", "on"}, {"attempts", 1},
                 {"error_kind", nullptr}, {"error", nullptr}},
                {{"host", 2}, {"name", "h2"}, {"ok", false}, {"power", "unknown"},
                 {"attempts", 4}, {"error_kind", "unreachable"},
                 {"error", "power status on ipmi 10.0.0.2: no answer within 10 s"}}}}}));
    auto r = run_cli(server, {"host", "power", "status", "h*"});
    CHECK(r.status == 1);
    CHECK(r.out ==
          "NAME  POWER    RESULT\n"
          "h1    on       ok\n"
          "h2    unknown  unreachable: power status on ipmi 10.0.0.2: no answer within 10 s\n");
    CHECK(r.err == "provisioner: error: 1 of 2 hosts: power status failed\n");
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].method == "POST");
    CHECK(server.requests[0].url.ends_with("/api/v1/power"));
    CHECK(json::parse(server.requests[0].body) == json{{"action", "status"}, {"hosts", "h*"}});
    // BMC calls are retried for up to a minute each: the request may wait 3 minutes.
    CHECK(server.requests[0].timeout >= std::chrono::minutes(3));

    r = run_cli(server, {"host", "power", "sideways", "h1"});
    CHECK(r.status == 2);
    CHECK(server.requests.size() == 1);
}

TEST_CASE("cli: host bmc set sends the password from its file, and never prints it") {
    FakeServer server;
    json bmc = {{"driver", "ipmi"},     {"address", "10.0.0.5:623"}, {"username", "admin"},
                {"ca_file", ""},        {"power", "unknown"},        {"power_at", nullptr},
                {"error_kind", nullptr}, {"error", nullptr}};
    server.responses.push_back(json_response(200, {{"host", 1}, {"bmc", bmc}}));
    auto r = run_cli(server, {"host", "bmc", "set", "h1", "--driver", "ipmi", "--address",
                              "10.0.0.5:623", "--user", "admin", "--password-file", "-"},
                     false, "s3cret-pw\n");
    CHECK(r.status == 0);
    CHECK(r.out == "host h1: BMC ipmi 10.0.0.5:623\n");
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].url.ends_with("/api/v1/hosts/h1/bmc"));
    CHECK(json::parse(server.requests[0].body) == json{{"driver", "ipmi"},
                                                       {"address", "10.0.0.5:623"},
                                                       {"username", "admin"},
                                                       {"password", "s3cret-pw"}});
    server.responses.push_back(json_response(200, {{"host", 1}, {"bmc", bmc}}));
    r = run_cli(server, {"host", "bmc", "show", "h1"});
    CHECK(r.status == 0);
    CHECK(r.out.find("(set; never shown)") != std::string::npos);
    CHECK(r.out.find("s3cret") == std::string::npos);
    r = run_cli(server, {"host", "bmc", "set", "h1", "--driver", "ipmi", "--password-file",
                         "/nonexistent/pw"});
    CHECK(r.status == 1);
    CHECK(r.err == "provisioner: error: cannot read /nonexistent/pw\n");
}
