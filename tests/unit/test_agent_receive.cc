// provisioner-agent end to end on one machine: the image flow against a scripted server, with
// the real `imaging receive --progress-json` fetching from a real `imaging serve` on loopback.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "imaging/digest.h"
#include "provisioner/agent/agent.h"
#include "test_util.h"

using namespace provisioner::agent;
using json = nlohmann::json;

namespace {

std::filesystem::path imaging_beside_tests() {
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::path() : self.parent_path() / "imaging";
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), {}};
}

// `imaging serve` in the background on a free loopback port; killed with this object.
struct DeltaServer {
    pid_t pid = 0;
    int port = 0;
    DeltaServer(const std::filesystem::path& imaging, const testutil::TempDir& dir) {
        std::string cmd = imaging.string() + " serve --image " + (dir / "img").string() +
                          " --listen 127.0.0.1:0 2>" + (dir / "serve.log").string() +
                          " & echo $! >" + (dir / "serve.pid").string();
        REQUIRE(std::system(cmd.c_str()) == 0);
        for (int i = 0; i < 200 && port == 0; ++i) {
            std::string log = slurp(dir / "serve.log");
            if (auto at = log.find(" on port "); at != std::string::npos)
                port = std::atoi(log.c_str() + at + 9);
            else
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        pid = std::atoi(slurp(dir / "serve.pid").c_str());
    }
    ~DeltaServer() {
        if (pid > 0) ::kill(pid, SIGKILL);
    }
};

}  // namespace

TEST_CASE("agent: image flow with the real imaging receive --progress-json (delta)") {
    auto imaging = imaging_beside_tests();
    if (!std::filesystem::exists(imaging)) {
        MESSAGE("skipped: no imaging binary beside the unit tests");
        return;
    }
    testutil::TempDir dir;
    auto raw = testutil::sample_image(48, 65536, 11);
    testutil::write_file(dir / "raw", raw);
    std::string tool = imaging.string();
    REQUIRE(std::system((tool + " keygen --out " + (dir / "k").string() + " >/dev/null").c_str()) ==
            0);
    REQUIRE(std::system((tool + " pack " + (dir / "raw").string() + " " + (dir / "img").string() +
                         " --key " + (dir / "k.key").string() +
                         " --name dom0 --version 2 --chunk-size 65536 >/dev/null")
                            .c_str()) == 0);
    DeltaServer serve(imaging, dir);
    REQUIRE(serve.port > 0);

    auto want = imaging::sha256(raw);
    json job{{"action", "image"},
             {"job",
              {{"deployment", 9},
               {"transport", "delta"},
               {"image", {{"name", "dom0"}, {"version", "2"}, {"image_sha256", imaging::to_hex(want)}}},
               {"pubkey", slurp(dir / "k.pub")},
               {"disk", (dir / "disk").string()},
               {"delta", {{"from", "127.0.0.1:" + std::to_string(serve.port)}}}}}};
    std::vector<json> progress, results;
    auto http = [&](const imaging::http::ClientRequest& r) {
        imaging::http::ClientResponse out;
        out.transport_ok = true;
        out.status = 200;
        if (r.url.ends_with("/hello")) {
            out.body = job.dump();
        } else if (r.url.ends_with("/progress")) {
            progress.push_back(json::parse(r.body));
            out.status = 204;
        } else if (r.url.ends_with("/result")) {
            results.push_back(json::parse(r.body));
            out.body = R"({"action":"reboot"})";
        }
        return out;
    };
    ServerClient server("http://127.0.0.1:1", "tok", http);
    AgentOptions options;
    options.mac = "52:54:00:00:00:09";
    options.root = dir.path();
    options.imaging = tool;
    auto runner = make_child_imaging_runner();
    CHECK(run_image(options, server, *runner, base::real_clock()) == 0);

    REQUIRE(results.size() == 1);
    CHECK(results[0]["ok"] == true);
    CHECK(results[0]["result"]["transport"] == "delta");
    CHECK(results[0]["result"]["sha256"] == imaging::to_hex(want));
    REQUIRE_FALSE(progress.empty());
    CHECK(progress.back()["deployment"] == 9);
    CHECK(progress.back()["bytes_total"].get<std::uint64_t>() > 0);
    auto written = testutil::read_file(dir / "disk");
    REQUIRE(written.size() >= raw.size());
    CHECK(std::equal(raw.begin(), raw.end(), written.begin()));
}
