// site diff|apply|status and vm list|recall against the CLI's fake server: what they send,
// what they print, and a site file's problems shown as FILE:LINE.
#include <doctest/doctest.h>

#include "test_cli_fake.h"

using namespace clitest;
using nlohmann::json;

namespace {

json plan_answer() {
    return {{"plan", json::array({{{"kind", "create"},
                                   {"vm", "web1"},
                                   {"host", "h1"},
                                   {"from_host", ""},
                                   {"vcpus", 2},
                                   {"memory_mib", 1024},
                                   {"image", "debian"},
                                   {"reason", "pinned"}}})},
            {"text", "create web1 on h1 (2 vcpus, 1024 MiB, debian): pinned\n"},
            {"placement", json::array({{{"vm", "web1"}, {"host", "h1"}, {"reason", "pinned"}}})}};
}

}  // namespace

TEST_CASE("cli: site apply sends the file and prints the plan; --dry-run only diffs") {
    FakeServer server;
    json answer = plan_answer();
    answer["apply"] = 4;
    server.responses.push_back(json_response(202, answer));
    std::string xml = "<XSMConfig/>\n";
    auto r = run_cli(server, {"site", "apply", "-", "--algorithm", "round-robin"}, false, xml);
    CHECK(r.status == 0);
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].method == "POST");
    CHECK(server.requests[0].url.ends_with("/api/v1/site/apply"));
    auto sent = json::parse(server.requests[0].body);
    CHECK(sent["site"] == xml);
    CHECK(sent["algorithm"] == "round-robin");
    CHECK(r.out == "create web1 on h1 (2 vcpus, 1024 MiB, debian): pinned\n");
    CHECK(r.err.find("apply 4 queued: 1 step") != std::string::npos);

    server.responses.push_back(json_response(200, plan_answer()));
    r = run_cli(server, {"site", "apply", "--dry-run", "-"}, false, xml);
    CHECK(r.status == 0);
    CHECK(server.requests.back().url.ends_with("/api/v1/site/diff"));
    CHECK(json::parse(server.requests.back().body).count("algorithm") == 0);

    server.responses.push_back(json_response(200, {{"plan", json::array()}, {"text", ""}}));
    r = run_cli(server, {"site", "diff", "-"}, false, xml);
    CHECK(r.out == "no changes: the site matches what the agents report\n");

    // Only services change: said so, for apply and for diff, and --json passes the answer on.
    json services_only = {{"plan", json::array()},
                          {"text", ""},
                          {"apply", 5},
                          {"services_changed", {"svc1", "svc2"}}};
    server.responses.push_back(json_response(202, services_only));
    r = run_cli(server, {"site", "apply", "-"}, false, xml);
    CHECK(r.status == 0);
    CHECK(r.out == "VMs unchanged; services updated for 2 VMs: svc1, svc2\n");
    CHECK(r.err.empty());  // no apply to follow
    server.responses.push_back(json_response(200, services_only));
    r = run_cli(server, {"site", "diff", "-"}, false, xml);
    CHECK(r.out == "VMs unchanged; services change for 2 VMs: svc1, svc2\n");
    server.responses.push_back(json_response(202, services_only));
    r = run_cli(server, {"--json", "site", "apply", "-"}, false, xml);
    CHECK(json::parse(r.out)["services_changed"] == json{"svc1", "svc2"});
    // With steps too: the plan, then the services; a long list is cut short.
    json both = plan_answer();
    both["apply"] = 6;
    both["services_changed"] = json::array();
    for (int i = 1; i <= 10; ++i) both["services_changed"].push_back("vm" + std::to_string(i));
    server.responses.push_back(json_response(202, both));
    r = run_cli(server, {"site", "apply", "-"}, false, xml);
    CHECK(r.out ==
          "create web1 on h1 (2 vcpus, 1024 MiB, debian): pinned\n"
          "services updated for 10 VMs: vm1, vm2, vm3, vm4, vm5, vm6, vm7, vm8 and 2 more\n");
    CHECK(r.err.find("apply 6 queued: 1 step") != std::string::npos);

    r = run_cli(server, {"site", "diff", "/nonexistent/site.xml"});
    CHECK(r.status == 1);
    CHECK(r.err == "provisioner: error: cannot read /nonexistent/site.xml\n");
}

TEST_CASE("cli: a bad site file's problems come out as FILE:LINE, nothing applied") {
    FakeServer server;
    json lines = json::array({{{"line", 4}, {"message", "VM v: <VCPUS> \"two\" is not a number"}}});
    server.responses.push_back(json_response(
        400,
        {{"error", {{"code", "invalid_argument"}, {"message", "site:4: ..."}, {"lines", lines}}},
         {"lines", lines}}));
    auto r = run_cli(server, {"site", "apply", "-"}, false, "<XSMConfig>");
    CHECK(r.status == 1);
    CHECK(r.err ==
          "<stdin>:4: VM v: <VCPUS> \"two\" is not a number\n"
          "provisioner: error: <stdin> has 1 problem; nothing was applied\n");
}

TEST_CASE("cli: site status, vm list and vm recall") {
    FakeServer server;
    json step = plan_answer()["plan"][0];
    step["action"] = 7;
    step["state"] = "failed";
    step["error"] = "no template";
    server.responses.push_back(
        json_response(200, {{"applies", json::array({{{"id", 1},
                                                      {"created_at", 0},
                                                      {"state", "failed"},
                                                      {"steps", json::array({step})}}})}}));
    auto r = run_cli(server, {"site", "status"});
    CHECK(r.status == 0);
    CHECK(r.out.find("APPLY  STATE") == 0);
    CHECK(r.out.find("web1  h1    failed  no template") != std::string::npos);

    server.responses.push_back(
        json_response(200, {{"vms", json::array({{{"name", "web1"},
                                                  {"host", "h1"},
                                                  {"vcpus", 2},
                                                  {"memory_mib", 1024},
                                                  {"template", "debian"},
                                                  {"state", "running"},
                                                  {"restart_pending", true},
                                                  {"domain_type", "qemu"}},
                                                 {{"name", "web2"},
                                                  {"host", "h2"},
                                                  {"vcpus", 1},
                                                  {"memory_mib", 512},
                                                  {"template", "debian"},
                                                  {"state", "running"},
                                                  {"service_state", "failed"},
                                                  {"services",
                                                   {{{"package", "nginx"},
                                                     {"state", "service_available"},
                                                     {"access", "10.0.0.5:8080"}},
                                                    {{"package", "redis"},
                                                     {"state", "failed"},
                                                     {"error", "exited with 100"}}}}}})}}));
    r = run_cli(server, {"vm", "list"});
    CHECK(r.out ==
          "NAME  HOST  TYPE        VCPUS    MEMORY  TEMPLATE  STATE                      SERVICES\n"
          "web1  h1    qemu (TCG)      2  1024 MiB  debian    running (restart pending)  -\n"
          "web2  h2    -               1   512 MiB  debian    running                    nginx: service available at "
          "10.0.0.5:8080, redis: failed (exited with 100)\n");

    server.responses.push_back(json_response(
        200, {{"vm", "web2"}, {"cmdline", "provisioner.server=http://s provisioner.guest=web2"}}));
    r = run_cli(server, {"vm", "guest", "web2"});
    CHECK(r.status == 0);
    CHECK(server.requests.back().url.ends_with("/api/v1/vms/web2/guest"));
    CHECK(r.out == "provisioner.server=http://s provisioner.guest=web2\n");

    server.responses.push_back(json_response(
        202,
        {{"actions", json::array({{{"id", 9}, {"kind", "remove"}, {"vm", {{"name", "web1"}}}}})}}));
    r = run_cli(server, {"vm", "recall", "web*"});
    CHECK(r.status == 0);
    CHECK(json::parse(server.requests.back().body) == json{{"selector", "web*"}});
    CHECK(r.out == "recalling 1 VM: web1\n");

    server.responses.push_back(json_response(202, {{"actions", json::array()}}));
    r = run_cli(server, {"--json", "vm", "recall", "x*"});
    CHECK(json::parse(r.out) == json{{"actions", json::array()}});
}
