// The CLI with several servers sharing one database (issue 20, item 2): --server repeated or
// comma-separated, or $PROVISIONER_SERVER=URL,URL; the next is tried when one cannot be
// reached, and the one that answered serves the next requests; a POST whose exchange broke
// after it was sent is not repeated elsewhere.
#include <doctest/doctest.h>

#include <cstdlib>

#include "api_client.h"
#include "test_cli_fake.h"

using namespace clitest;
using nlohmann::json;

namespace {

ClientResponse timed_out(const std::string& url) {
    ClientResponse r;
    r.error = url + ": timed out";
    return r;
}

const json kHost = {{"id", 1}, {"mac", "52:54:00:00:00:01"}, {"name", "h1"}, {"state", "enrolled"}};

}  // namespace

TEST_CASE("cli failover: an unreachable server gives way to the next, which keeps answering") {
    FakeServer server;
    server.responses.push_back(unreachable("https://a:1/api/v1/hosts/h1"));
    server.responses.push_back(json_response(200, kHost));
    auto r = run_cli(server, {"--server", "https://a:1,https://b:2/", "--json", "host", "show", "h1"});
    CHECK_MESSAGE(r.status == 0, r.err);
    REQUIRE(server.requests.size() == 2);
    CHECK(server.requests[0].url == "https://a:1/api/v1/hosts/h1");
    CHECK(server.requests[1].url == "https://b:2/api/v1/hosts/h1");

    // One client, several requests: after b answered, b is asked first.
    FakeServer two;
    provisioner::cli::ApiClientConfig config;
    config.server = "https://a:1";
    config.fallback_servers = {"https://b:2"};
    provisioner::cli::ApiClient client(config, two.http());
    two.responses.push_back(unreachable("https://a:1/api/v1/health"));
    two.responses.push_back(json_response(200, {{"ok", true}}));
    two.responses.push_back(json_response(200, {{"ok", true}}));
    CHECK(client.get("/api/v1/health").ok());
    CHECK(client.current_server() == "https://b:2");
    CHECK(client.get("/api/v1/health").ok());
    REQUIRE(two.requests.size() == 3);
    CHECK(two.requests[2].url == "https://b:2/api/v1/health");
}

TEST_CASE("cli failover: repeated --server and $PROVISIONER_SERVER; all unreachable names them") {
    FakeServer server;
    auto r = run_cli(server, {"--server", "https://a:1", "--server", "https://b:2", "host", "show",
                              "h1"});
    CHECK(r.status == 1);
    REQUIRE(server.requests.size() == 2);  // the command's words were not taken as URLs
    CHECK(r.err.find("cannot reach provisionerd at https://b:2") != std::string::npos);
    CHECK(r.err.find("(nor at https://a:1)") != std::string::npos);

    ::setenv("PROVISIONER_SERVER", "https://c:3,https://d:4", 1);
    FakeServer env_server;
    env_server.responses.push_back(unreachable("https://c:3/api/v1/hosts/h1"));
    env_server.responses.push_back(json_response(200, kHost));
    r = run_cli(env_server, {"--json", "host", "show", "h1"});
    ::unsetenv("PROVISIONER_SERVER");
    CHECK_MESSAGE(r.status == 0, r.err);
    REQUIRE(env_server.requests.size() == 2);
    CHECK(env_server.requests[1].url == "https://d:4/api/v1/hosts/h1");

    FakeServer bad;
    r = run_cli(bad, {"--server", "https://a:1,ftp://b", "host", "show", "h1"});
    CHECK(r.status == 2);
    CHECK(r.err.find("not 'ftp://b'") != std::string::npos);
    CHECK(bad.requests.empty());
}

TEST_CASE("cli failover: a POST that may have arrived is not sent again; a GET is") {
    FakeServer server;
    server.responses.push_back(timed_out("https://a:1/api/v1/hosts"));
    auto r = run_cli(server, {"--server", "https://a:1,https://b:2", "host", "add", "--mac",
                              "52:54:00:00:00:01", "--name", "h1"});
    CHECK(r.status == 1);
    REQUIRE(server.requests.size() == 1);
    CHECK(r.err.find("https://a:1") != std::string::npos);

    FakeServer get;
    get.responses.push_back(timed_out("https://a:1/api/v1/hosts/h1"));
    get.responses.push_back(json_response(200, kHost));
    r = run_cli(get, {"--server", "https://a:1,https://b:2", "--json", "host", "show", "h1"});
    CHECK_MESSAGE(r.status == 0, r.err);
    CHECK(get.requests.size() == 2);
}
