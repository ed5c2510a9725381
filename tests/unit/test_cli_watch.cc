// deployment watch and deploy --watch against a fake server: polling, output, exit status.
#include <doctest/doctest.h>

#include "test_cli_fake.h"

using namespace clitest;
using nlohmann::json;

namespace {

json snapshot(const std::string& state, const std::string& h1_state, std::uint64_t h1_done) {
    json t1 = {{"host", 1},           {"name", "h1"},         {"mac", "52:54:00:00:00:01"},
               {"state", h1_state},   {"transport", "delta"}, {"bytes_done", h1_done},
               {"bytes_total", 1024}, {"started_at", 1000},   {"finished_at", nullptr},
               {"error", ""}};
    if (h1_state == "succeeded" || h1_state == "failed") t1["finished_at"] = 3000;
    if (h1_state == "failed") t1["error"] = "checksum mismatch";
    return {{"id", 3},
            {"image", {{"id", 1}, {"name", "dom0"}, {"version", "2"}}},
            {"transport", "delta"},
            {"state", state},
            {"targets", json::array({t1})}};
}

}  // namespace

TEST_CASE("cli: watch without a terminal logs changes and ends with a summary, exit 0") {
    FakeServer server;
    server.responses.push_back(json_response(200, snapshot("running", "pending", 0)));
    server.responses.push_back(json_response(200, snapshot("running", "running", 512)));
    server.responses.push_back(json_response(200, snapshot("succeeded", "succeeded", 1024)));
    auto r = run_cli(server, {"deployment", "watch", "3"});
    CHECK(r.status == 0);
    CHECK(r.out ==
          "deployment 3  dom0@2  delta  running  1 host: 1 pending\n"
          "h1: pending\n"
          "h1: running (delta)\n"
          "h1: succeeded, 1.0 KiB in 2.0 s\n"
          "\n"
          "HOST  STATE      TRANSPORT  BYTES    SECONDS  ERROR\n"
          "h1    succeeded  delta      1.0 KiB      2.0  -\n"
          "deployment 3 succeeded: 1 host: 1 succeeded\n");
    CHECK(r.sleeps == 2);
    CHECK(server.requests.size() == 3);
    CHECK(server.requests[2].url == "https://127.0.0.1:8080/api/v1/deployments/3");
}

TEST_CASE("cli: watch on a terminal redraws bars in place; a failed deployment exits 1") {
    FakeServer server;
    server.responses.push_back(json_response(200, snapshot("running", "running", 512)));
    server.responses.push_back(json_response(200, snapshot("failed", "failed", 512)));
    auto r = run_cli(server, {"deployment", "watch", "3"}, true);
    CHECK(r.status == 1);
    std::string first =
        "\rdeployment 3  dom0@2  delta  running  1 host: 1 running\033[K\n"
        "\rh1  [############------------]   50%  running    512 B / 1.0 KiB\033[K\n";
    std::string second =
        "\033[2A"
        "\rdeployment 3  dom0@2  delta  failed  1 host: 1 failed\033[K\n"
        "\rh1  [############------------]   50%  failed     512 B / 1.0 KiB  checksum mismatch"
        "\033[K\n";
    CHECK(r.out.starts_with(first + second + "\nHOST"));
    CHECK(r.out.ends_with("deployment 3 failed: 1 host: 1 failed\n"));
}

TEST_CASE("cli: watch sits out a short outage but not an API error") {
    FakeServer server;
    server.responses.push_back(json_response(200, snapshot("running", "running", 512)));
    server.responses.push_back(unreachable("https://127.0.0.1:8080/api/v1/deployments/3"));
    server.responses.push_back(json_response(200, snapshot("succeeded", "succeeded", 1024)));
    auto r = run_cli(server, {"--json", "deployment", "watch", "3"});
    CHECK(r.status == 0);
    CHECK(json::parse(r.out)["state"] == "succeeded");

    server.responses.push_back(api_error(404, "not_found", "no deployment 9"));
    r = run_cli(server, {"deployment", "watch", "9"});
    CHECK(r.status == 1);
    CHECK(r.err == "provisioner: error: no deployment 9\n");

    // An empty queue: the server is gone for good; the watch gives up after its retries.
    r = run_cli(server, {"deployment", "watch", "9"});
    CHECK(r.status == 1);
    CHECK(r.err.starts_with("provisioner: error: cannot reach provisionerd"));
}

TEST_CASE("cli: deploy posts the deployment, prints its id, and --watch follows it") {
    FakeServer server;
    json created = snapshot("running", "pending", 0);
    server.responses.push_back(json_response(201, created));
    auto r = run_cli(server, {"deploy", "--image", "dom0@2", "--hosts", "web-*"});
    CHECK(r.status == 0);
    CHECK(r.out ==
          "deployment 3 started: dom0@2 by delta, 1 host: 1 pending\n"
          "follow it with: provisioner deployment watch 3\n");
    CHECK(json::parse(server.requests[0].body) ==
          json{{"image", "dom0@2"}, {"hosts", "web-*"}, {"transport", "auto"}});

    // The server may answer without targets or counts (provisionerd does, for now).
    server.responses.push_back(json_response(
        201, {{"id", 4}, {"image", {{"name", "dom0"}, {"version", "2"}}}, {"transport", "delta"}}));
    r = run_cli(server, {"deploy", "--image", "dom0", "--hosts", "web-*"});
    CHECK(r.out.starts_with("deployment 4 started: dom0@2 by delta\n"));

    server.responses.push_back(json_response(201, created));
    server.responses.push_back(json_response(200, snapshot("failed", "failed", 10)));
    r = run_cli(server, {"deploy", "--image", "dom0", "--hosts", "all", "--transport", "torrent",
                         "--watch"});
    CHECK(r.status == 1);
    CHECK(r.out.starts_with("deployment 3 started\n"));
    CHECK(r.out.find("h1: failed: checksum mismatch\n") != std::string::npos);
    CHECK(json::parse(server.requests[2].body)["transport"] == "torrent");
}

TEST_CASE("cli: events print as a table, and --follow asks after the last id") {
    json events = {{"events",
                    {{{"id", 7},
                      {"time", 0},
                      {"host", 1},
                      {"mac", "52:54:00:00:00:01"},
                      {"from", "booting"},
                      {"to", "imaging"},
                      {"reason", "agent hello"}},
                     {{"id", 8},
                      {"time", 1000},
                      {"host", nullptr},
                      {"mac", nullptr},
                      {"from", nullptr},
                      {"to", nullptr},
                      {"reason", "dnsmasq restarted"}}}}};
    FakeServer server;
    server.responses.push_back(json_response(200, events));
    auto r = run_cli(server, {"events", "--host", "h1", "--limit", "5"});
    CHECK(r.status == 0);
    CHECK(r.out ==
          "TIME                 HOST               FROM->TO            REASON\n"
          "1970-01-01 00:00:00  52:54:00:00:00:01  booting -> imaging  agent hello\n"
          "1970-01-01 00:00:01  -                  -                   dnsmasq restarted\n");
    CHECK(server.requests[0].url == "https://127.0.0.1:8080/api/v1/events?host=h1&limit=5");

    server.requests.clear();
    server.responses.push_back(json_response(200, events));
    server.responses.push_back(json_response(200, {{"events", json::array()}}));
    // then the queue is empty: the server "goes away" and follow gives up after its retries
    r = run_cli(server, {"events", "--follow", "--json"});
    CHECK(r.status == 1);
    CHECK(r.out.find("\"dnsmasq restarted\"") != std::string::npos);
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 2);  // one line per event
    REQUIRE(server.requests.size() >= 3);
    CHECK(server.requests[0].url == "https://127.0.0.1:8080/api/v1/events");
    CHECK(server.requests[1].url == "https://127.0.0.1:8080/api/v1/events?after=8");
}

TEST_CASE("cli: token create prints the token alone on stdout") {
    FakeServer server;
    server.responses.push_back(json_response(201, {{"name", "ci"}, {"token", "s3cr3t"}}));
    auto r = run_cli(server, {"token", "create", "ci"});
    CHECK(r.status == 0);
    CHECK(r.out == "s3cr3t\n");
    CHECK(r.err.find("shown only this once") != std::string::npos);
    CHECK(json::parse(server.requests[0].body) == json{{"name", "ci"}});
}
