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

TEST_CASE("cli: host enrol --bmc adds the host, then its BMC, the password from its file") {
    FakeServer server;
    json host = {{"id", 1}, {"name", "vm1"}, {"mac", "52:54:00:77:00:01"}, {"state", "enrolled"}};
    json bmc = {{"driver", "redfish"}, {"address", "https://10.0.0.6:8443"}, {"username", "root"}};
    server.responses.push_back(json_response(201, host));
    server.responses.push_back(json_response(200, {{"host", 1}, {"bmc", bmc}}));
    auto r = run_cli(server,
                     {"host", "enrol", "--mac", "52:54:00:77:00:01", "--name", "vm1", "--bmc",
                      "redfish://root@10.0.0.6:8443", "--bmc-password-file", "-",
                      "--bmc-ca-file", "/etc/bmc-ca.pem"},
                     false, "pw-of-vm1\n");
    CHECK(r.status == 0);
    CHECK(r.out ==
          "added host vm1 (52:54:00:77:00:01), enrolled, BMC redfish https://10.0.0.6:8443\n");
    REQUIRE(server.requests.size() == 2);
    CHECK(server.requests[0].url.ends_with("/api/v1/hosts"));
    CHECK(server.requests[1].url.ends_with("/api/v1/hosts/vm1/bmc"));
    CHECK(json::parse(server.requests[1].body) == json{{"driver", "redfish"},
                                                       {"address", "https://10.0.0.6:8443"},
                                                       {"username", "root"},
                                                       {"password", "pw-of-vm1"},
                                                       {"ca_file", "/etc/bmc-ca.pem"}});
    CHECK(r.out.find("pw-of-vm1") == std::string::npos);
}

TEST_CASE("cli: host add --bmc that the server refuses enrols nothing; a bad --bmc sends nothing") {
    FakeServer server;
    json host = {{"id", 1}, {"name", "vm1"}, {"mac", "52:54:00:77:00:01"}, {"state", "enrolled"}};
    server.responses.push_back(json_response(201, host));
    server.responses.push_back(api_error(400, "invalid_argument", "ipmi needs a password"));
    server.responses.push_back(json_response(200, host));
    auto r = run_cli(server, {"host", "add", "--mac", "52:54:00:77:00:01", "--name", "vm1",
                              "--bmc", "ipmi://admin@10.0.0.5", "--bmc-password-file", "-"},
                     false, "\n");
    CHECK(r.status == 1);
    CHECK(r.err.find("its BMC: ") != std::string::npos);
    CHECK(r.err.find("ipmi needs a password; host vm1 was not enrolled") != std::string::npos);
    REQUIRE(server.requests.size() == 3);
    CHECK(server.requests[2].method == "DELETE");
    CHECK(server.requests[2].url.ends_with("/api/v1/hosts/vm1"));

    for (const char* bad : {"ipmi://10.0.0.5", "telnet://a@b", "ipmi://a:pw@b", "redfish://a@",
                            "10.0.0.5"}) {
        FakeServer none;
        r = run_cli(none, {"host", "add", "--mac", "52:54:00:77:00:01", "--name", "vm1", "--bmc",
                           bad, "--bmc-password-file", "-"});
        CHECK_MESSAGE(r.status == 2, bad);
        CHECK(none.requests.empty());
    }
    FakeServer none;
    r = run_cli(none, {"host", "add", "--mac", "52:54:00:77:00:01", "--name", "vm1", "--bmc",
                       "ipmi://admin@10.0.0.5"});
    CHECK(r.status == 1);
    CHECK(r.err == "provisioner: error: --bmc ipmi needs --bmc-password-file FILE (- for "
                   "standard input)\n");
    CHECK(none.requests.empty());
    none.responses.push_back(json_response(201, host));
    none.responses.push_back(json_response(200, {{"host", 1}, {"bmc", {{"driver", "manual"}}}}));
    r = run_cli(none, {"host", "add", "--mac", "52:54:00:77:00:01", "--name", "vm1", "--bmc",
                       "manual"});
    CHECK(r.status == 0);
    REQUIRE(none.requests.size() == 2);
    CHECK(json::parse(none.requests[1].body) ==
          json{{"driver", "manual"}, {"address", ""}, {"username", ""}});
}
