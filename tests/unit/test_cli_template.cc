// `provisioner template`: the requests its commands send, their output, and their usage errors.
#include <doctest/doctest.h>

#include "test_cli_fake.h"

using namespace clitest;
using nlohmann::json;

namespace {

json debian(const std::string& version, json labels, json last_used = nullptr) {
    return {{"id", 1},
            {"name", "debian"},
            {"version", version},
            {"ref", "debian@" + version},
            {"labels", std::move(labels)},
            {"format", "raw"},
            {"size", 1048576},
            {"sha256", std::string(64, 'a')},
            {"backing", nullptr},
            {"path", "/var/lib/provisioner/templates/debian@" + version + ".raw"},
            {"created_at", 0},
            {"last_used_at", std::move(last_used)}};
}

}  // namespace

TEST_CASE("cli: template add sends the file's absolute path, name, version, labels, backing") {
    FakeServer server;
    server.responses.push_back(json_response(201, debian("2", {"base", "web"})));
    auto r = run_cli(server, {"template", "add", "/srv/web.qcow2", "--name", "debian", "--version",
                              "2", "--label", "base", "--label", "web", "--backing", "debian@1"});
    CHECK(r.status == 0);
    CHECK(r.out == "added template debian@2: raw, 1.0 MiB, labels base,web\n");
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].url == "https://127.0.0.1:8080/api/v1/templates");
    CHECK(json::parse(server.requests[0].body) == json{{"path", "/srv/web.qcow2"},
                                                       {"name", "debian"},
                                                       {"version", "2"},
                                                       {"labels", {"base", "web"}},
                                                       {"backing", "debian@1"}});

    r = run_cli(server, {"template", "add", "/srv/x.raw", "--name", "debian"});
    CHECK(r.status == 2);
    CHECK(r.err.starts_with("provisioner: error: --version is required"));
    CHECK(server.requests.size() == 1);
}

TEST_CASE("cli: template list filters by name and label, as a table or --json") {
    FakeServer server;
    json list = {{"templates", {debian("1", {"base"}), debian("2", json::array(), 0)}}};
    server.responses.push_back(json_response(200, list));
    auto r =
        run_cli(server, {"template", "list", "--name", "debian", "--label", "a", "--label", "b"});
    CHECK(r.status == 0);
    CHECK(server.requests[0].url ==
          "https://127.0.0.1:8080/api/v1/templates?name=debian&label=a%2Cb");
    CHECK(r.out ==
          "TEMPLATE  FORMAT     SIZE  BACKING  LABELS  LAST USED\n"
          "debian@1  raw     1.0 MiB  -        base    -\n"
          "debian@2  raw     1.0 MiB  -        -       1970-01-01 00:00:00\n");
    server.responses.push_back(json_response(200, list));
    r = run_cli(server, {"--json", "template", "ls"});
    CHECK(json::parse(r.out) == list);
}

TEST_CASE("cli: template show, label and remove name the template in the path") {
    FakeServer server;
    server.responses.push_back(json_response(200, debian("2", {"base"})));
    auto r = run_cli(server, {"template", "show", "label=base"});
    CHECK(r.status == 0);
    CHECK(server.requests[0].url == "https://127.0.0.1:8080/api/v1/templates/label%3Dbase");
    CHECK(r.out.find("debian@2") != std::string::npos);

    server.responses.push_back(json_response(200, debian("2", {"lts"})));
    r = run_cli(server, {"template", "label", "debian@2", "--add", "lts", "--remove", "base"});
    CHECK(r.status == 0);
    CHECK(r.out == "debian@2: labels lts\n");
    CHECK(server.requests[1].url == "https://127.0.0.1:8080/api/v1/templates/debian@2/labels");
    CHECK(json::parse(server.requests[1].body) == json{{"add", {"lts"}}, {"remove", {"base"}}});

    r = run_cli(server, {"template", "label", "debian@2"});
    CHECK(r.status == 1);
    CHECK(r.err == "provisioner: error: give --add LABEL or --remove LABEL\n");

    server.responses.push_back(json_response(
        409, {{"error",
               {{"code", "conflict"}, {"message", "template debian@2 is in use by vm1 on h1"}}}}));
    r = run_cli(server, {"template", "rm", "debian@2"});
    CHECK(r.status == 1);
    CHECK(r.err.find("template debian@2 is in use by vm1 on h1") != std::string::npos);
    CHECK(server.requests.back().method == "DELETE");
}

TEST_CASE("cli: template --help lists its commands") {
    FakeServer server;
    auto r = run_cli(server, {"template", "--help"});
    CHECK(r.status == 0);
    for (const char* word : {"add", "list", "show", "label", "remove"})
        CHECK_MESSAGE(r.out.find(word) != std::string::npos, word);
    r = run_cli(server, {"tempalte", "list"});
    CHECK(r.err == "provisioner: error: unknown command 'tempalte'; did you mean 'template'?\n");
}

TEST_CASE("cli: template add follows the server's job: waits, shows progress on a terminal") {
    FakeServer server;
    json started = {{"id", 7},
                    {"kind", "template_add"},
                    {"what", "template debian@2 from /srv/web.qcow2"},
                    {"state", "queued"},
                    {"progress", {{"stage", ""}, {"done", 0}, {"total", 0}}},
                    {"location", "/api/v1/jobs/7"}};
    json running = started;
    running["state"] = "running";
    running["progress"] = {{"stage", "copying"}, {"done", 524288}, {"total", 1048576}};
    json done = running;
    done["state"] = "succeeded";
    done["result"] = debian("2", {"base"});
    server.responses.push_back(json_response(202, started));
    server.responses.push_back(json_response(200, running));
    server.responses.push_back(json_response(200, done));
    auto r = run_cli(server, {"template", "add", "/srv/web.qcow2", "--name", "debian",
                              "--version", "2"},
                     /*tty=*/true);
    CHECK(r.status == 0);
    CHECK(r.out == "added template debian@2: raw, 1.0 MiB, labels base\n");
    REQUIRE(server.requests.size() == 3);
    CHECK(server.requests[1].method == "GET");
    CHECK(server.requests[1].url == "https://127.0.0.1:8080/api/v1/jobs/7");
    CHECK(r.sleeps == 2);
    CHECK(r.err.find("template debian@2 from /srv/web.qcow2: copying 512.0 KiB of 1.0 MiB (50%)") !=
          std::string::npos);

    // Not on a terminal: no progress, the same answer.
    server.requests.clear();
    server.responses.push_back(json_response(202, started));
    server.responses.push_back(json_response(200, done));
    r = run_cli(server, {"template", "add", "/srv/web.qcow2", "--name", "debian", "--version",
                         "2"});
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    CHECK(r.out == "added template debian@2: raw, 1.0 MiB, labels base\n");
}

TEST_CASE("cli: a failed template add job exits non-zero with the job's error") {
    FakeServer server;
    json failed = {{"id", 8},
                   {"state", "failed"},
                   {"what", "template debian@2 from /srv/web.qcow2"},
                   {"location", "/api/v1/jobs/8"},
                   {"error", {{"code", "storage"}, {"message", "packing template debian@2 as an "
                                                               "image: disk full"},
                              {"status", 500}}}};
    json started = failed;
    started["state"] = "running";
    server.responses.push_back(json_response(202, started));
    server.responses.push_back(json_response(200, failed));
    auto r = run_cli(server, {"template", "add", "/srv/web.qcow2", "--name", "debian",
                              "--version", "2"});
    CHECK(r.status == 1);
    CHECK(r.out.empty());
    CHECK(r.err == "provisioner: error: packing template debian@2 as an image: disk full\n");
    // With --json, the error document on stdout, as for any API error.
    server.responses.push_back(json_response(202, started));
    server.responses.push_back(json_response(200, failed));
    r = run_cli(server, {"--json", "template", "add", "/srv/web.qcow2", "--name", "debian",
                         "--version", "2"});
    CHECK(r.status == 1);
    CHECK(json::parse(r.out)["error"]["code"] == "storage");
}
