// provisionerd's route table through the real Router: every route behind its scope, 404 vs
// 405, path parameters, and the jobs that long operations are (202, Location, progress, error).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "api_routes.h"
#include "test_server_fixture.h"

using namespace servertest;

namespace {

// A concrete path for a pattern: each {param} becomes "x1".
std::string instantiate(std::string pattern) {
    for (auto open = pattern.find('{'); open != std::string::npos; open = pattern.find('{')) {
        auto close = pattern.find('}', open);
        pattern.replace(open, close - open + 1, "x1");
    }
    return pattern;
}

std::string dom0_token_of_new_host(Server& s) {
    auto h = s.call_json(bhttp::verb::post, "/api/v1/hosts",
                         R"({"mac":"52:54:00:00:00:01","name":"h1"})");
    REQUIRE(s.last_status == 201);
    return s.auth->dom0_token(*s.store->get_host(h["id"].get<HostId>())).value();
}

}  // namespace

TEST_CASE("api routes: one table; every route mounted; each pattern with one route per method") {
    std::set<std::pair<int, std::string>> seen;
    for (const Route& r : api_routes()) {
        CHECK_MESSAGE(seen.emplace(int(r.method), r.pattern).second, r.pattern);
        CHECK(bool(r.handler));
        // Every route of the table touches the store, a disk or the orchestrator.
        CHECK(r.dispatch == imaging::http::Dispatch::worker_pool);
    }
    Server s;
    for (const Route& r : api_routes()) {
        imaging::http::Request req{r.method, instantiate(r.pattern), 11};
        auto found = s.router.match(req);
        CHECK_MESSAGE(found.handler != nullptr, r.pattern);
        CHECK(found.dispatch == r.dispatch);
    }
}

TEST_CASE("api routes: each scope refuses the wrong token before the handler runs") {
    Server s;
    const std::string dom0 = dom0_token_of_new_host(s);
    for (const Route& r : api_routes()) {
        const std::string target = instantiate(r.pattern);
        INFO(r.pattern);
        switch (r.scope) {
            case Scope::operator_token:
                CHECK(s.call(r.method, target, "", "").result_int() == 401);
                CHECK(s.call(r.method, target, "", "op_wrong").result_int() == 401);
                CHECK(s.call(r.method, target, "", dom0).result_int() == 403);
                break;
            case Scope::dom0:
            case Scope::imaging:
                CHECK(s.call(r.method, target, "", "").result_int() == 401);
                CHECK(s.call(r.method, target, "", s.token).result_int() == 403);
                break;
            case Scope::dom0_or_operator:
                CHECK(s.call(r.method, target, "", "").result_int() == 401);
                // Both get past the scope: the template does not exist.
                CHECK(s.call(r.method, target, "", s.token).result_int() != 403);
                CHECK(s.call(r.method, target, "", dom0).result_int() == 400);
                break;
            case Scope::none:
            case Scope::hello:
                CHECK(s.call(r.method, target, "", "").result_int() != 401);
                break;
            case Scope::guest:
                // The handler checks the guest token against the VM the request names: the
                // report reads its body first (400 for none), a package fetch refuses at once.
                CHECK(s.call(r.method, target, "", "").result_int() ==
                      (std::string_view(r.pattern) == "/api/v1/guest/report" ? 400 : 401));
                break;
        }
    }
}

TEST_CASE("api routes: 404 for an unknown path, 405 with Allow for another method") {
    Server s;
    auto missing = s.call_json(bhttp::verb::get, "/api/v1/nothing");
    CHECK(s.last_status == 404);
    CHECK(missing["error"]["code"] == "not_found");
    auto res = s.call(bhttp::verb::get, "/api/v1/hosts/import");
    CHECK(res.result_int() == 405);
    CHECK(res[bhttp::field::allow] == "POST");
    res = s.call(bhttp::verb::put, "/api/v1/hosts/h1");
    CHECK(res.result_int() == 405);
    CHECK(res[bhttp::field::allow] == "DELETE, GET");
    CHECK(s.call(bhttp::verb::get, "/api/v1/hosts/h1/nothing").result_int() == 404);
    CHECK(s.call(bhttp::verb::get, "/api/v1/hosts/h1/dom0/x").result_int() == 404);
    // Parameters are percent-decoded: a MAC with %3A finds the host.
    dom0_token_of_new_host(s);
    auto shown = s.call_json(bhttp::verb::get, "/api/v1/hosts/52%3A54%3A00%3A00%3A00%3A01");
    CHECK(s.last_status == 200);
    CHECK(shown["name"] == "h1");
    auto settings = s.call_json(bhttp::verb::get, "/api/v1/hosts/h1/dom0");
    CHECK(s.last_status == 200);
    CHECK(settings["host"] == "h1");
}

TEST_CASE("api jobs: template add answers 202 with a job; the job reports its end") {
    Server s;
    auto file = s.import_dir() / "big.raw";
    std::ofstream(file) << std::string(3 << 20, 'x');
    auto res = s.call(bhttp::verb::post, "/api/v1/templates",
                      json{{"path", file.string()}, {"name", "big"}, {"version", "1"}}.dump());
    REQUIRE(res.result_int() == 202);
    auto started = json::parse(res.body());
    CHECK(res[bhttp::field::location] == started["location"].get<std::string>());
    CHECK(started["kind"] == "template_add");
    CHECK(started["what"] == "template big@1 from " + file.string());
    s.last_status = 202;
    auto added = s.finish_job(started);
    CHECK(s.last_status == 201);
    CHECK(added["ref"] == "big@1");
    auto job = s.call_json(bhttp::verb::get, started["location"]);
    CHECK(job["state"] == "succeeded");
    CHECK(job["progress"]["stage"] == "packing");
    CHECK(job["progress"]["total"] == 3 << 20);
    CHECK(job["progress"]["done"] == 3 << 20);
    CHECK(job["result"]["ref"] == "big@1");
    // What is refused at once is answered at once: no job.
    s.call_json(bhttp::verb::post, "/api/v1/templates",
                json{{"path", file.string()}, {"name", "big"}, {"version", "1"}}.dump());
    CHECK(s.last_status == 409);
    s.call_json(bhttp::verb::get, "/api/v1/jobs/999");
    CHECK(s.last_status == 404);
    s.call_json(bhttp::verb::get, "/api/v1/jobs/abc");
    CHECK(s.last_status == 404);
}

TEST_CASE("api jobs: an image whose chunk does not verify fails its import job; nothing kept") {
    Server s;
    auto raw = s.import_dir() / "raw";
    std::ofstream(raw) << std::string(200000, 'y');
    auto key = imaging::SigningKey::load(StateFiles{s.dir.path()}.signing_key());
    REQUIRE(key.is_ok());
    imaging::PackOptions options;
    options.name = "dom0";
    REQUIRE(imaging::pack_image(raw, s.import_dir() / "img", *key, options).is_ok());
    {
        std::fstream pack(s.import_dir() / "img" / "chunks.pack",
                          std::ios::in | std::ios::out | std::ios::binary);
        pack.seekp(10);
        pack.put('\x5a');
    }
    auto started = s.call_json(bhttp::verb::post, "/api/v1/images",
                               json{{"path", (s.import_dir() / "img").string()}}.dump());
    REQUIRE(s.last_status == 202);
    CHECK(started["kind"] == "image_import");
    auto failed = s.finish_job(started);
    CHECK(s.last_status == 400);
    CHECK(failed["error"]["message"].get<std::string>().find("chunk 0") != std::string::npos);
    CHECK(s.call_json(bhttp::verb::get, "/api/v1/images")["images"].empty());
}
