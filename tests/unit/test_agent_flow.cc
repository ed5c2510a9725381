// provisioner-agent: the image, discover and ready flows against a scripted server, a fake
// imaging tool and a fake clock: retries, waits, failures and what gets posted.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <map>

#include "provisioner/agent/agent.h"
#include "test_agent_fake.h"
#include "test_util.h"

using namespace provisioner::agent;
using json = nlohmann::json;
using imaging::http::ClientRequest;
using imaging::http::ClientResponse;

namespace {

using agent_test::reply;
using agent_test::unreachable;

// Answers each path from its script in order (repeating the last answer), records requests.
struct FakeServer {
    std::map<std::string, std::deque<ClientResponse>> script;
    std::vector<ClientRequest> requests;

    ClientResponse operator()(const ClientRequest& request) {
        requests.push_back(request);
        auto path = request.url.substr(request.url.find("/api/"));
        auto& answers = script[path];
        if (answers.empty())
            return reply(404, {{"error", {{"code", "not_found"}, {"message", path}}}});
        ClientResponse r = answers.front();
        if (answers.size() > 1) answers.pop_front();
        return r;
    }
    std::vector<json> bodies(const std::string& path) const {
        std::vector<json> out;
        for (const auto& r : requests)
            if (r.url.ends_with(path)) out.push_back(json::parse(r.body));
        return out;
    }
};

// base::FakeClock that records each sleep.
class FakeClock final : public base::Clock {
  public:
    time_point now() override { return time_.now(); }
    wall_time_point wall_now() override { return time_.wall_now(); }
    void sleep_for(std::chrono::milliseconds d) override {
        sleeps.push_back(d.count());
        time_.advance(d);
    }
    void advance(std::chrono::milliseconds d) { time_.advance(d); }
    std::vector<long> sleeps;

  private:
    base::FakeClock time_;
};

// Reports progress every 400 ms of fake time, then returns the scripted outcome.
class FakeImaging final : public ImagingRunner {
  public:
    explicit FakeImaging(FakeClock& clock) : clock_(clock) {}
    ImagingOutcome run(const std::vector<std::string>& argv,
                       const ProgressFunction& on_progress) override {
        runs.push_back(argv);
        for (std::uint64_t done = 0; done <= 10; ++done) {
            clock_.advance(std::chrono::milliseconds(400));
            on_progress(done * 100, 1000);
        }
        return outcome;
    }
    ImagingOutcome outcome;
    std::vector<std::vector<std::string>> runs;

  private:
    FakeClock& clock_;
};

json delta_job(const std::string& disk = "") {
    return {{"action", "image"},
            {"job",
             {{"deployment", 3},
              {"transport", "delta"},
              {"image",
               {{"id", 1},
                {"name", "dom0"},
                {"version", "2"},
                {"raw_size", 4096},
                {"image_sha256", std::string(64, 'a')}}},
              {"pubkey", "-----BEGIN PUBLIC KEY-----\nX\n-----END PUBLIC KEY-----\n"},
              {"disk", disk},
              {"delta", {{"from", "10.77.0.1:7000"}}}}}};
}

ImagingOutcome good_outcome() {
    ImagingOutcome o;
    o.exit_status = 0;
    o.result = json{{"transport", "delta"}, {"ok", true}, {"sha256", "ab"}, {"seconds", 1.0}};
    return o;
}

struct Rig {
    testutil::TempDir root;  // an empty /proc and /sys: no disks unless --disk
    FakeServer fake;
    FakeClock clock;
    FakeImaging imaging{clock};
    AgentOptions options;
    std::vector<std::pair<std::string, std::string>> seeds;  // disk, text
    std::vector<std::string> grown;                          // disks grow_disk was called for
    // What the job's sender is said to be at each probe (the last repeated); the jobs probed.
    std::deque<SenderState> senders{SenderState::answers};
    std::vector<std::string> probed;
    Rig() {
        options.probe_sender = [this](const Job& job) {
            probed.push_back(sender_address(job));
            SenderState s = senders.front();
            if (senders.size() > 1) senders.pop_front();
            return s;
        };
        options.fill_seed = [this](const std::string& disk, const std::string& text) {
            seeds.emplace_back(disk, text);
            return imaging::Result<bool>(true);
        };
        options.grow_disk = [this](const std::string& disk) {
            grown.push_back(disk);
            DiskGrowth g;
            g.grown = true;
            g.partition = disk + "p4";
            g.from_bytes = 1 << 30;
            g.to_bytes = std::uint64_t(4) << 30;
            g.reason = "partition 4 (dom0-root) grows to the end of the disk";
            return imaging::Result<DiskGrowth>(g);
        };
        options.mac = "52:54:00:00:00:01";
        options.disk = "/dev/loop3";
        options.root = root.path();
        options.imaging = "/bin/imaging";
        options.hello_timeout = std::chrono::seconds(60);
        options.result_timeout = std::chrono::seconds(30);
        imaging.outcome = good_outcome();
    }
    int image() {
        ServerClient server("http://10.77.0.1:8080/", "tok", std::ref(fake));
        return run_image(options, server, imaging, clock);
    }
};

}  // namespace

TEST_CASE("agent: image flow retries hello, waits, images, posts progress and result") {
    Rig rig;
    rig.fake.script["/api/v1/agent/hello"] = {
        unreachable(), reply(503), reply(200, {{"action", "wait"}, {"retry_after_ms", 500}}),
        reply(200, delta_job())};
    rig.fake.script["/api/v1/agent/progress"] = {reply(204)};
    rig.fake.script["/api/v1/agent/result"] = {reply(200, {{"action", "reboot"}})};
    CHECK(rig.image() == 0);
    CHECK(rig.clock.sleeps == std::vector<long>{1000, 2000, 500});

    auto hellos = rig.fake.bodies("/agent/hello");
    REQUIRE(hellos.size() == 4);
    CHECK(hellos[0]["mac"] == "52:54:00:00:00:01");
    CHECK(hellos[0]["mode"] == "image");
    CHECK(hellos[0]["facts"]["disks"].is_array());
    CHECK(rig.fake.requests[0].url == "http://10.77.0.1:8080/api/v1/agent/hello");
    CHECK(rig.fake.requests[0].method == "POST");
    REQUIRE(rig.fake.requests[0].headers.size() == 1);
    CHECK(rig.fake.requests[0].headers[0].second == "Bearer tok");

    REQUIRE(rig.imaging.runs.size() == 1);
    const auto& argv = rig.imaging.runs[0];
    CHECK(argv[0] == "/bin/imaging");
    CHECK(std::find(argv.begin(), argv.end(), "10.77.0.1:7000") != argv.end());
    CHECK(std::find(argv.begin(), argv.end(), "/dev/loop3") != argv.end());

    // 11 progress lines 400 ms apart: posted at most once a second (0, 1.2, 2.4, 3.6 s).
    auto progress = rig.fake.bodies("/agent/progress");
    REQUIRE(progress.size() == 4);
    CHECK(progress[0] ==
          json{{"v", 1}, {"deployment", 3}, {"bytes_done", 0}, {"bytes_total", 1000}});
    CHECK(progress[3]["bytes_done"] == 900);

    auto results = rig.fake.bodies("/agent/result");
    REQUIRE(results.size() == 1);
    CHECK(results[0]["deployment"] == 3);
    CHECK(results[0]["ok"] == true);
    CHECK(results[0]["result"]["sha256"] == "ab");
    CHECK_FALSE(results[0].contains("error"));

    // The disk grown to fill itself, what was chosen and why, in the result.
    CHECK(rig.grown == std::vector<std::string>{"/dev/loop3"});
    CHECK(results[0]["result"]["disk"] == "/dev/loop3");
    CHECK(results[0]["result"]["disk_choice"] == "--disk names it");
    CHECK(results[0]["result"]["disk_growth"]["grown"] == true);
    CHECK(results[0]["result"]["disk_growth"]["to_bytes"] == std::uint64_t(4) << 30);

    // Then the imaged disk's seed partition, for the imaged system's `ready`.
    REQUIRE(rig.seeds.size() == 1);
    CHECK(rig.seeds[0].first == "/dev/loop3");
    CHECK(rig.seeds[0].second ==
          "provisioner.server=http://10.77.0.1:8080 provisioner.token=tok "
          "provisioner.mac=52:54:00:00:00:01\n");
}

TEST_CASE("agent: a seed partition that cannot be written fails the host") {
    Rig rig;
    rig.options.fill_seed = [](const std::string&, const std::string&) {
        return imaging::Result<bool>(
            imaging::Status::error("/dev/loop3: damaged GPT: header checksum mismatch"));
    };
    rig.fake.script["/api/v1/agent/hello"] = {reply(200, delta_job())};
    rig.fake.script["/api/v1/agent/progress"] = {reply(204)};
    rig.fake.script["/api/v1/agent/result"] = {reply(200, {{"action", "reboot"}})};
    CHECK(rig.image() == 1);
    auto results = rig.fake.bodies("/agent/result");
    REQUIRE(results.size() == 1);
    CHECK(results[0]["ok"] == false);
    CHECK(results[0]["error"].get<std::string>().find("damaged GPT") != std::string::npos);
}

TEST_CASE("agent: a disk that cannot grow fails the host, before its seed is filled") {
    Rig rig;
    rig.options.grow_disk = [](const std::string&) {
        return imaging::Result<DiskGrowth>(
            imaging::Status::error("resize2fs /dev/loop3p4: exit 1: bad superblock"));
    };
    rig.fake.script["/api/v1/agent/hello"] = {reply(200, delta_job())};
    rig.fake.script["/api/v1/agent/progress"] = {reply(204)};
    rig.fake.script["/api/v1/agent/result"] = {reply(200, {{"action", "reboot"}})};
    CHECK(rig.image() == 1);
    auto results = rig.fake.bodies("/agent/result");
    REQUIRE(results.size() == 1);
    CHECK(results[0]["ok"] == false);
    CHECK(results[0]["error"].get<std::string>().find("growing it: resize2fs") !=
          std::string::npos);
    CHECK(rig.seeds.empty());
}

TEST_CASE("agent: image flow writes the job's public key for imaging, then removes it") {
    Rig rig;
    rig.fake.script["/api/v1/agent/hello"] = {reply(200, delta_job("sdb"))};
    rig.fake.script["/api/v1/agent/progress"] = {reply(204)};
    rig.fake.script["/api/v1/agent/result"] = {reply(200, {{"action", "reboot"}})};
    CHECK(rig.image() == 0);
    const auto& argv = rig.imaging.runs.at(0);
    CHECK(std::find(argv.begin(), argv.end(), "/dev/sdb") != argv.end());  // the job's disk
    auto key = std::find(argv.begin(), argv.end(), "--pubkey");
    REQUIRE(key != argv.end());
    CHECK_FALSE(std::filesystem::exists(*(key + 1)));
}

TEST_CASE("agent: nothing to do, refusals and bad answers") {
    SUBCASE("none exits 0 without imaging") {
        Rig rig;
        rig.fake.script["/api/v1/agent/hello"] = {
            reply(200, {{"action", "none"}, {"reason", "no deployment"}})};
        CHECK(rig.image() == 0);
        CHECK(rig.imaging.runs.empty());
        CHECK(rig.fake.bodies("/agent/result").empty());
    }
    SUBCASE("401 is not retried") {
        Rig rig;
        rig.fake.script["/api/v1/agent/hello"] = {
            reply(401, {{"error", {{"code", "unauthorized"}, {"message", "bad token"}}}})};
        CHECK(rig.image() == 1);
        CHECK(rig.fake.requests.size() == 1);
        CHECK(rig.clock.sleeps.empty());
    }
    SUBCASE("an unknown transport is refused") {
        Rig rig;
        json job = delta_job();
        job["job"]["transport"] = "carrier-pigeon";
        rig.fake.script["/api/v1/agent/hello"] = {reply(200, job)};
        CHECK(rig.image() == 1);
        CHECK(rig.imaging.runs.empty());
    }
    SUBCASE("a server that stays down: give up after --hello-timeout") {
        Rig rig;
        rig.fake.script["/api/v1/agent/hello"] = {unreachable()};
        CHECK(rig.image() == 1);
        long slept = 0;
        for (long s : rig.clock.sleeps) slept += s;
        CHECK(slept == 60'000);
        CHECK(rig.clock.sleeps[0] == 1000);
        CHECK(*std::max_element(rig.clock.sleeps.begin(), rig.clock.sleeps.end()) <= 15'000);
    }
}

TEST_CASE("agent: failures are posted as results") {
    SUBCASE("imaging fails: its last stderr line is the error") {
        Rig rig;
        rig.imaging.outcome.exit_status = 1;
        rig.imaging.outcome.result.reset();
        rig.imaging.outcome.last_error_line = "imaging: error: chunk 7: sha256 mismatch";
        rig.fake.script["/api/v1/agent/hello"] = {reply(200, delta_job())};
        rig.fake.script["/api/v1/agent/progress"] = {unreachable()};  // never fatal
        rig.fake.script["/api/v1/agent/result"] = {reply(200, {{"action", "reboot"}})};
        CHECK(rig.image() == 1);
        auto results = rig.fake.bodies("/agent/result");
        REQUIRE(results.size() == 1);
        CHECK(results[0]["ok"] == false);
        // Run again once (its sender answers), then failed: the same job, the same way, twice.
        CHECK(results[0]["error"] ==
              "imaging: error: chunk 7: sha256 mismatch (the same job failed the same way "
              "twice; its sender 10.77.0.1:7000 answers)");
        CHECK(rig.imaging.runs.size() == 2);
        CHECK(rig.probed == std::vector<std::string>{"10.77.0.1:7000", "10.77.0.1:7000"});
        CHECK_FALSE(results[0].contains("result"));
        CHECK(rig.fake.bodies("/agent/progress").size() == 8);
    }
    SUBCASE("no disk to write") {
        Rig rig;
        rig.options.disk = "";
        rig.fake.script["/api/v1/agent/hello"] = {reply(200, delta_job())};
        rig.fake.script["/api/v1/agent/result"] = {reply(200, {{"action", "reboot"}})};
        CHECK(rig.image() == 1);
        CHECK(rig.imaging.runs.empty());
        auto results = rig.fake.bodies("/agent/result");
        REQUIRE(results.size() == 1);
        CHECK(results[0]["error"].get<std::string>().find("no disk") != std::string::npos);
    }
    SUBCASE("the result post is retried while the server restarts") {
        Rig rig;
        rig.fake.script["/api/v1/agent/hello"] = {reply(200, delta_job())};
        rig.fake.script["/api/v1/agent/progress"] = {reply(204)};
        rig.fake.script["/api/v1/agent/result"] = {unreachable(), reply(502),
                                                   reply(200, {{"action", "reboot"}})};
        CHECK(rig.image() == 0);
        CHECK(rig.fake.bodies("/agent/result").size() == 3);
    }
    SUBCASE("a refused result is a failure") {
        Rig rig;
        rig.fake.script["/api/v1/agent/hello"] = {reply(200, delta_job())};
        rig.fake.script["/api/v1/agent/progress"] = {reply(204)};
        rig.fake.script["/api/v1/agent/result"] = {
            reply(409, {{"error", {{"code", "illegal_transition"}, {"message", "x"}}}})};
        CHECK(rig.image() == 1);
        CHECK(rig.fake.bodies("/agent/result").size() == 1);
    }
}

TEST_CASE("agent: discover and ready") {
    Rig rig;
    rig.fake.script["/api/v1/agent/hello"] = {reply(503), reply(200, {{"action", "none"}})};
    rig.fake.script["/api/v1/agent/ready"] = {reply(204)};
    ServerClient anonymous("http://10.77.0.1:8080", "", std::ref(rig.fake));
    CHECK(run_discover(rig.options, anonymous, rig.clock) == 0);
    auto hellos = rig.fake.bodies("/agent/hello");
    REQUIRE(hellos.size() == 2);
    CHECK(hellos[1]["mode"] == "discover");
    CHECK(rig.fake.requests[0].headers.empty());

    ServerClient server("http://10.77.0.1:8080", "tok", std::ref(rig.fake));
    CHECK(run_ready(rig.options, server, rig.clock) == 0);
    auto ready = rig.fake.bodies("/agent/ready");
    REQUIRE(ready.size() == 1);
    CHECK(ready[0]["mac"] == "52:54:00:00:00:01");
    CHECK(ready[0]["capacity"].contains("cpus"));
    CHECK(ready[0]["capacity"].contains("memory_bytes"));
    CHECK(ready[0]["capacity"].contains("disk_free_bytes"));

    rig.fake.script["/api/v1/agent/ready"] = {reply(403)};
    CHECK(run_ready(rig.options, server, rig.clock) == 1);
}

TEST_CASE("agent: several server URLs: a call moves on from one that is down or failing") {
    std::vector<std::string> asked;
    std::map<std::string, std::deque<ClientResponse>> by_server;
    auto http = [&](const ClientRequest& r) {
        const std::string server = r.url.substr(0, r.url.find("/api/"));
        asked.push_back(server);
        auto& answers = by_server[server];
        ClientResponse out = answers.front();
        if (answers.size() > 1) answers.pop_front();
        return out;
    };
    CHECK(split_server_urls(" https://a:1/, ,https://b:2//") ==
          std::vector<std::string>{"https://a:1", "https://b:2"});
    CHECK(first_server_url("https://a:1,https://b:2") == "https://a:1");
    ServerClient server("https://a:1/,https://b:2", "tok", http);
    CHECK(server.server_list() == "https://a:1,https://b:2");
    by_server["https://a:1"] = {unreachable()};
    by_server["https://b:2"] = {reply(204)};
    CHECK(server.progress(3, 1, 2).ok());
    CHECK(asked == std::vector<std::string>{"https://a:1", "https://b:2"});
    CHECK(server.base_url() == "https://b:2");  // the one that answered: asked first next time
    asked.clear();
    by_server["https://b:2"] = {reply(503), reply(204)};
    by_server["https://a:1"] = {reply(204)};
    CHECK(server.progress(3, 1, 2).ok());
    CHECK(asked == std::vector<std::string>{"https://b:2", "https://a:1"});
    // A refusal is the server's answer: no other is asked.
    asked.clear();
    by_server["https://a:1"] = {reply(409)};
    CHECK(server.progress(3, 1, 2).kind == CallResult::Kind::fatal);
    CHECK(asked.size() == 1);
    // None answers: retry, naming each.
    by_server["https://a:1"] = {unreachable()};
    by_server["https://b:2"] = {unreachable()};
    CallResult down = server.progress(3, 1, 2);
    CHECK(down.kind == CallResult::Kind::retry);
    CHECK(down.error.find("https://b:2") != std::string::npos);
    CHECK(down.error.find("https://a:1") != std::string::npos);
    // A rack server's 503 and the owner's failure are both told, each with its server.
    by_server["https://a:1"] = {reply(503)};
    CallResult both = server.progress(3, 1, 2);
    CHECK(both.kind == CallResult::Kind::retry);
    CHECK(both.error.find("HTTP 503") != std::string::npos);
    CHECK(both.error.find("(https://a:1)") != std::string::npos);
    CHECK(both.error.find("(https://b:2)") != std::string::npos);
}

namespace {

// Outcomes in order, one per run (the last repeated); records each run's argv.
class ScriptedImaging final : public ImagingRunner {
  public:
    ImagingOutcome run(const std::vector<std::string>& argv, const ProgressFunction&) override {
        runs.push_back(argv);
        ImagingOutcome o = outcomes.front();
        if (outcomes.size() > 1) outcomes.pop_front();
        return o;
    }
    std::deque<ImagingOutcome> outcomes;
    std::vector<std::vector<std::string>> runs;
};

}  // namespace

TEST_CASE("agent: a transfer cut off by its server's death goes on with the new owner's job") {
    Rig rig;
    ScriptedImaging imaging;
    ImagingOutcome cut;
    cut.exit_status = 1;
    cut.last_error_line = "imaging: error: 10.77.0.1:7000: connection reset by peer";
    imaging.outcomes = {cut, good_outcome()};
    json taken_over = delta_job();
    taken_over["job"]["delta"]["from"] = "10.77.0.1:7100";  // the new owner's delta server
    // The old owner is gone; the other server says wait until it has taken over.
    rig.fake.script["/api/v1/agent/hello"] = {
        reply(200, delta_job()), unreachable(),
        reply(200, {{"action", "wait"}, {"retry_after_ms", 1000}}), reply(200, taken_over)};
    rig.fake.script["/api/v1/agent/result"] = {reply(200, {{"action", "reboot"}})};
    ServerClient server("http://10.77.0.1:8080,http://10.77.0.1:8081", "tok", std::ref(rig.fake));
    CHECK(run_image(rig.options, server, imaging, rig.clock) == 0);
    REQUIRE(imaging.runs.size() == 2);
    auto from = [](const std::vector<std::string>& argv) {
        auto it = std::find(argv.begin(), argv.end(), "--from");
        return it == argv.end() || it + 1 == argv.end() ? std::string() : *(it + 1);
    };
    CHECK(from(imaging.runs[0]) == "10.77.0.1:7000");
    CHECK(from(imaging.runs[1]) == "10.77.0.1:7100");
    auto results = rig.fake.bodies("/agent/result");
    REQUIRE(results.size() == 1);
    CHECK(results[0]["ok"] == true);
    // The imaged system is told every server.
    REQUIRE(rig.seeds.size() == 1);
    CHECK(rig.seeds[0].second.find("http://10.77.0.1:8080,http://10.77.0.1:8081") !=
          std::string::npos);
}

namespace {

ImagingOutcome cut_outcome(const std::string& line) {
    ImagingOutcome o;
    o.exit_status = 1;
    o.last_error_line = line;
    return o;
}

json multicast_job() {
    json j = delta_job();
    j["job"]["transport"] = "multicast";
    j["job"].erase("delta");
    j["job"]["multicast"] = {{"group", "239.1.2.3"}, {"port", 9000}};
    return j;
}

}  // namespace

TEST_CASE("agent: the same job while its sender does not answer is asked for again, not failed") {
    // The job names a rack server that has just died: until its lease runs out the deployment's
    // owner keeps handing out the same job; then it names a sender of its own.
    Rig rig;
    ScriptedImaging imaging;
    imaging.outcomes = {cut_outcome("imaging: error: 10.77.0.2:7000: connection reset by peer"),
                        good_outcome()};
    json rack_job = delta_job();
    rack_job["job"]["delta"]["from"] = "10.77.0.2:7000";
    json owner_job = delta_job();
    rig.fake.script["/api/v1/agent/hello"] = {reply(200, rack_job), reply(200, rack_job),
                                              reply(200, rack_job), reply(200, rack_job),
                                              reply(200, owner_job)};
    rig.fake.script["/api/v1/agent/result"] = {reply(200, {{"action", "reboot"}})};
    rig.senders = {SenderState::silent};
    ServerClient server("http://10.77.0.1:8080/", "tok", std::ref(rig.fake));
    CHECK(run_image(rig.options, server, imaging, rig.clock) == 0);
    REQUIRE(imaging.runs.size() == 2);  // never the dead sender's job again
    CHECK(rig.probed.size() == 3);
    CHECK(rig.clock.sleeps == std::vector<long>{2000, 4000, 8000});
    auto results = rig.fake.bodies("/agent/result");
    REQUIRE(results.size() == 1);
    CHECK(results[0]["ok"] == true);
}

TEST_CASE("agent: the same job runs again once its sender answers again") {
    Rig rig;
    ScriptedImaging imaging;
    imaging.outcomes = {cut_outcome("imaging: error: 10.77.0.1:7000: connection refused"),
                        cut_outcome("imaging: error: 10.77.0.1:7000: connection reset by peer"),
                        good_outcome()};
    rig.fake.script["/api/v1/agent/hello"] = {reply(200, delta_job())};
    rig.fake.script["/api/v1/agent/result"] = {reply(200, {{"action", "reboot"}})};
    rig.senders = {SenderState::silent, SenderState::answers};
    ServerClient server("http://10.77.0.1:8080/", "tok", std::ref(rig.fake));
    CHECK(run_image(rig.options, server, imaging, rig.clock) == 0);
    CHECK(imaging.runs.size() == 3);
    // silent: asked again after 2 s; answers: run after 4 s; failed another way: run after 8 s.
    CHECK(rig.clock.sleeps == std::vector<long>{2000, 4000, 8000});
    CHECK(rig.fake.bodies("/agent/result")[0]["ok"] == true);
}

TEST_CASE("agent: a sender silent past the patience fails the host, with why") {
    Rig rig;
    ScriptedImaging imaging;
    imaging.outcomes = {cut_outcome("imaging: error: 10.77.0.2:7000: connection reset by peer")};
    json rack_job = delta_job();
    rack_job["job"]["delta"]["from"] = "10.77.0.2:7000";
    rig.fake.script["/api/v1/agent/hello"] = {reply(200, rack_job)};
    rig.fake.script["/api/v1/agent/result"] = {reply(200, {{"action", "reboot"}})};
    rig.senders = {SenderState::silent};
    ServerClient server("http://10.77.0.1:8080/", "tok", std::ref(rig.fake));
    CHECK(run_image(rig.options, server, imaging, rig.clock) == 1);
    CHECK(imaging.runs.size() == 1);
    // 2 + 4 + 8 + 16 + 30 + 30 + 30 = 120 s, the patience; one more wait would pass it.
    CHECK(rig.clock.sleeps == std::vector<long>{2000, 4000, 8000, 16000, 30000, 30000, 30000});
    auto results = rig.fake.bodies("/agent/result");
    REQUIRE(results.size() == 1);
    CHECK(results[0]["error"] ==
          "imaging: error: 10.77.0.2:7000: connection reset by peer (the servers handed out the "
          "same job for 120 s; its sender 10.77.0.2:7000 does not answer)");
}

TEST_CASE("agent: a job whose sender cannot be asked runs again a bounded number of times") {
    Rig rig;
    ScriptedImaging imaging;
    imaging.outcomes = {cut_outcome("imaging: error: the sender has been silent for 10 s")};
    rig.fake.script["/api/v1/agent/hello"] = {reply(200, multicast_job())};
    rig.fake.script["/api/v1/agent/result"] = {reply(200, {{"action", "reboot"}})};
    rig.senders = {SenderState::unknown};
    rig.options.interface = "eth0";
    ServerClient server("http://10.77.0.1:8080/", "tok", std::ref(rig.fake));
    CHECK(run_image(rig.options, server, imaging, rig.clock) == 1);
    CHECK(imaging.runs.size() == 5);
    CHECK(rig.clock.sleeps == std::vector<long>{2000, 4000, 8000, 16000});
    auto results = rig.fake.bodies("/agent/result");
    REQUIRE(results.size() == 1);
    CHECK(results[0]["error"] ==
          "imaging: error: the sender has been silent for 10 s (the same job failed 5 times; its "
          "sender cannot be asked)");
}

TEST_CASE("agent: a multicast job failing verification twice, its sender heard, fails the host") {
    Rig rig;
    ScriptedImaging imaging;
    imaging.outcomes = {
        cut_outcome("imaging: error: chunk 3: chunk SHA-256 does not match the manifest")};
    rig.fake.script["/api/v1/agent/hello"] = {reply(200, multicast_job())};
    rig.fake.script["/api/v1/agent/result"] = {reply(200, {{"action", "reboot"}})};
    rig.senders = {SenderState::unknown};
    rig.options.interface = "eth0";
    ServerClient server("http://10.77.0.1:8080/", "tok", std::ref(rig.fake));
    CHECK(run_image(rig.options, server, imaging, rig.clock) == 1);
    CHECK(imaging.runs.size() == 2);  // not 5: the second identical failure, as for delta
    CHECK(rig.clock.sleeps == std::vector<long>{2000});
    auto results = rig.fake.bodies("/agent/result");
    REQUIRE(results.size() == 1);
    CHECK(results[0]["error"] ==
          "imaging: error: chunk 3: chunk SHA-256 does not match the manifest (the same job failed "
          "the same way twice; its multicast sender was heard in the failed run)");
    // What a failed multicast run says of its sender.
    for (const char* unheard :
         {"imaging: error: no multicast session heard within 15 s",
          "imaging: error: the sender has been silent for 15 s; the image is incomplete",
          "imaging: error: the sender ended the session (aborted) before this image was complete"})
        CHECK(multicast_sender_heard(unheard) == SenderState::unknown);
    CHECK(multicast_sender_heard("imaging: error: writing /dev/sda: No space left on device") ==
          SenderState::answers);
}

TEST_CASE("agent: a job's sender is probed by a TCP connection") {
    int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener, 4) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    const std::string address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    Job job;
    job.transport = provisioner::wire::Transport::delta;
    job.delta_from = address;
    CHECK(probe_sender(job, std::chrono::seconds(2)) == SenderState::answers);
    ::close(listener);  // nobody listens there now: refused
    CHECK(probe_sender(job, std::chrono::seconds(2)) == SenderState::silent);
    job.transport = provisioner::wire::Transport::torrent;
    job.torrent_url = "https://[::1]:8443/torrents/3";
    CHECK(sender_address(job) == "[::1]:8443");
    job.transport = provisioner::wire::Transport::multicast;
    CHECK(probe_sender(job, std::chrono::seconds(2)) == SenderState::unknown);
    CHECK(probe_address("no port", std::chrono::seconds(1)) == SenderState::silent);
}
