// The CLI's command line: "did you mean", usage errors, help, and the requests commands send.
#include <doctest/doctest.h>

#include "imaging/suggest.h"
#include "test_cli_fake.h"

using namespace clitest;
using nlohmann::json;

TEST_CASE("cli: closest_match suggests near words only") {
    std::vector<std::string> groups = {"host", "image", "deploy", "deployment", "events"};
    CHECK(imaging::closest_match("hots", groups) == "host");
    CHECK(imaging::closest_match("imgae", groups) == "image");
    CHECK(imaging::closest_match("deploymnet", groups) == "deployment");
    CHECK(imaging::closest_match("evnts", groups) == "events");
    CHECK(imaging::closest_match("x", groups) == std::nullopt);
    CHECK(imaging::closest_match("frobnicate", groups) == std::nullopt);
    CHECK(imaging::closest_match("lst", {"add", "import", "list", "show"}) == "list");
    CHECK(imaging::edit_distance("kitten", "sitting") == 3);
    CHECK(imaging::edit_distance("", "abc") == 3);
}

TEST_CASE("cli: a mistyped command gets a suggestion and exit status 2") {
    FakeServer server;
    auto r = run_cli(server, {"hots", "list"});
    CHECK(r.status == 2);
    CHECK(r.err == "provisioner: error: unknown command 'hots'; did you mean 'host'?\n");

    r = run_cli(server, {"host", "lst"});
    CHECK(r.status == 2);
    CHECK(r.err == "provisioner: error: unknown command 'lst'; did you mean 'list'?\n");

    r = run_cli(server, {"--server", "http://h:1", "deploymnet", "watch", "3"});
    CHECK(r.status == 2);
    CHECK(r.err ==
          "provisioner: error: unknown command 'deploymnet'; did you mean 'deployment'?\n");

    r = run_cli(server, {"image", "frobnicate"});
    CHECK(r.status == 2);
    CHECK(r.err ==
          "provisioner: error: unknown command 'frobnicate'; 'provisioner image' has: import, "
          "list, show, remove\n");
    CHECK(server.requests.empty());
}

TEST_CASE("cli: a group without its command, and a bad option, are usage errors") {
    FakeServer server;
    auto r = run_cli(server, {"host"});
    CHECK(r.status == 2);
    CHECK(r.err ==
          "provisioner: error: 'provisioner host' needs a command: add, import, list, show, "
          "accept, dom0, remove, metrics, power, bmc\n");

    r = run_cli(server, {"host", "show"});
    CHECK(r.status == 2);
    CHECK(r.err.starts_with("provisioner: error: HOST is required"));
    CHECK(r.err.find("'provisioner host show --help'") != std::string::npos);

    r = run_cli(server, {"deploy", "--image", "dom0", "--hosts", "all", "--transport", "carrier"});
    CHECK(r.status == 2);
    CHECK(r.err.starts_with("provisioner: error: --transport: carrier not in {"));

    r = run_cli(server, {"--server", "ftp://x", "image", "list"});
    CHECK(r.status == 2);
    CHECK(r.err == "provisioner: error: --server wants an https://HOST[:PORT] (or http://) URL, not 'ftp://x'\n");
    CHECK(server.requests.empty());
}

TEST_CASE("cli: --help tells the commands and goes to stdout") {
    FakeServer server;
    auto r = run_cli(server, {"--help"});
    CHECK(r.status == 0);
    for (const char* word : {"host", "image", "deploy", "deployment", "events", "token", "--server",
                             "--json", "PROVISIONER_SERVER"}) {
        CHECK_MESSAGE(r.out.find(word) != std::string::npos, word);
    }
    r = run_cli(server, {"help", "deploy"});
    CHECK(r.status == 0);
    CHECK(r.out.find("--transport") != std::string::npos);
}

TEST_CASE("cli: host add sends the record with the token and prints the result") {
    FakeServer server;
    server.responses.push_back(json_response(
        201, {{"id", 1}, {"mac", "52:54:00:00:00:01"}, {"name", "h1"}, {"state", "enrolled"}}));
    auto r = run_cli(server, {"--server", "http://10.0.0.1:8080/", "host", "add", "--mac",
                              "52:54:00:00:00:01", "--name", "h1", "--rack", "r1"});
    CHECK(r.status == 0);
    CHECK(r.out == "added host h1 (52:54:00:00:00:01), enrolled\n");
    REQUIRE(server.requests.size() == 1);
    const auto& req = server.requests[0];
    CHECK(req.method == "POST");
    CHECK(req.url == "http://10.0.0.1:8080/api/v1/hosts");
    CHECK(json::parse(req.body) ==
          json{{"mac", "52:54:00:00:00:01"}, {"name", "h1"}, {"rack", "r1"}});
    bool has_auth = false;
    for (const auto& [k, v] : req.headers) has_auth |= k == "Authorization" && v == "Bearer T0K";
    CHECK(has_auth);
}

TEST_CASE("cli: host list is a table, and --json is the API's document") {
    json hosts = {{"hosts",
                   {{{"id", 1},
                     {"mac", "52:54:00:00:00:01"},
                     {"name", "h1"},
                     {"ip", "10.77.0.11"},
                     {"rack", "r1"},
                     {"state", "imaged"},
                     {"image", 1}},
                    {{"id", 2},
                     {"mac", "52:54:00:00:00:02"},
                     {"name", "web-2"},
                     {"ip", nullptr},
                     {"rack", nullptr},
                     {"state", "enrolled"},
                     {"image", nullptr}}}},
                  {"total", 3}};
    json images = {{"images", {{{"id", 1}, {"name", "dom0"}, {"version", "2"}}}}};
    FakeServer server;
    server.responses.push_back(json_response(200, hosts));
    server.responses.push_back(json_response(200, images));
    auto r = run_cli(server, {"host", "list", "rack=r1"});
    CHECK(r.status == 0);
    CHECK(r.out ==
          "NAME   MAC                IP          RACK  STATE     IMAGE\n"
          "h1     52:54:00:00:00:01  10.77.0.11  r1    imaged    dom0@2\n"
          "web-2  52:54:00:00:00:02  -           -     enrolled  -\n");
    CHECK(r.err == "showing 2 of 3 hosts; see --limit and --offset\n");
    CHECK(server.requests[0].url == "https://127.0.0.1:8080/api/v1/hosts?selector=rack%3Dr1");

    server.responses.push_back(json_response(200, hosts));
    r = run_cli(server, {"host", "list", "--json"});
    CHECK(r.status == 0);
    CHECK(json::parse(r.out) == hosts);
}

TEST_CASE("cli: references are put into paths safely") {
    CHECK(provisioner::cli::path_segment("52:54:00:00:00:01") == "52:54:00:00:00:01");
    CHECK(provisioner::cli::path_segment("dom0@2") == "dom0@2");
    CHECK(provisioner::cli::path_segment("a/b c") == "a%2Fb%20c");
    FakeServer server;
    server.responses.push_back(json_response(200, {{"id", 1}, {"name", "h1"}}));
    auto r = run_cli(server, {"host", "show", "../x"});
    CHECK(server.requests[0].url == "https://127.0.0.1:8080/api/v1/hosts/..%2Fx");
}

TEST_CASE("cli: token list is a table of names and times, and --json is the API's document") {
    json tokens = {{"tokens",
                    {{{"name", "admin"}, {"created_at", 1714564800000}},
                     {{"name", "ci"}, {"created_at", 1714568403000}}}}};
    FakeServer server;
    server.responses.push_back(json_response(200, tokens));
    auto r = run_cli(server, {"token", "list"});
    CHECK(r.status == 0);
    CHECK(r.out ==
          "NAME   CREATED\n"
          "admin  2024-05-01 12:00:00\n"
          "ci     2024-05-01 13:00:03\n");
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].method == "GET");
    CHECK(server.requests[0].url == "https://127.0.0.1:8080/api/v1/tokens");

    server.responses.push_back(json_response(200, tokens));
    r = run_cli(server, {"--json", "token", "ls"});
    CHECK(r.status == 0);
    CHECK(json::parse(r.out) == tokens);
}

TEST_CASE("cli: token revoke sends DELETE and passes on the server's refusals") {
    FakeServer server;
    server.responses.push_back(json_response(200, {{"name", "ci/x"}, {"created_at", 0}}));
    auto r = run_cli(server, {"token", "revoke", "ci/x"});
    CHECK(r.status == 0);
    CHECK(r.out == "revoked operator token 'ci/x'\n");
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].method == "DELETE");
    CHECK(server.requests[0].url == "https://127.0.0.1:8080/api/v1/tokens/ci%2Fx");

    server.responses.push_back(api_error(404, "not_found", "no operator token named nope"));
    r = run_cli(server, {"token", "revoke", "nope"});
    CHECK(r.status == 1);
    CHECK(r.err == "provisioner: error: no operator token named nope\n");

    const std::string last =
        "admin is the last operator token; revoking it would lock every operator out (create "
        "another first)";
    server.responses.push_back(api_error(409, "conflict", last));
    r = run_cli(server, {"--json", "token", "revoke", "admin"});
    CHECK(r.status == 1);
    CHECK(r.err == "provisioner: error: " + last + "\n");
    CHECK(json::parse(r.out)["error"]["code"] == "conflict");

    r = run_cli(server, {"token", "revoke"});
    CHECK(r.status == 2);
    CHECK(r.err.starts_with("provisioner: error: NAME is required"));
    r = run_cli(server, {"token"});
    CHECK(r.status == 2);
    CHECK(r.err ==
          "provisioner: error: 'provisioner token' needs a command: create, list, revoke\n");
    CHECK(server.requests.size() == 3);
}

TEST_CASE("cli: token --help names list and revoke truthfully") {
    FakeServer server;
    auto r = run_cli(server, {"token", "--help"});
    CHECK(r.status == 0);
    for (const char* word : {"create", "list", "revoke"})
        CHECK_MESSAGE(r.out.find(word) != std::string::npos, word);
    r = run_cli(server, {"token", "revoke", "--help"});
    CHECK(r.status == 0);
    CHECK(r.out.find("next request") != std::string::npos);
    CHECK(r.out.find("last") != std::string::npos);
    CHECK(server.requests.empty());
}
