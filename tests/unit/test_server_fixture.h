// provisionerd's API through its real Router and an in-memory inventory, for the server's unit
// tests: a state directory, the operator token, a fake process launcher in place of imaging,
// and call()/call_json() to send one request as the operator (or with any bearer token).
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <thread>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "api.h"
#include "api_support.h"
#include "dhcp_service.h"
#include "imaging/pack.h"
#include "imaging/signing.h"
#include "orchestrator.h"
#include "state.h"
#include "test_util.h"
#include "vm_registry.h"

namespace servertest {

using namespace provisioner;
using namespace provisioner::server;
using nlohmann::json;
namespace bhttp = imaging::http::bhttp;

// Starts nothing: every spawn gets a pid that never ends (until signalled).
class FakeLauncher : public pxe::ProcessLauncher {
  public:
    imaging::Result<int> spawn(const std::vector<std::string>& argv) override {
        spawned.push_back(argv);
        return next_pid++;
    }
    std::optional<pxe::ExitStatus> try_reap(int pid) override {
        if (signalled.contains(pid)) return pxe::ExitStatus::signaled(signalled[pid]);
        return std::nullopt;
    }
    void send_signal(int pid, int sig) override { signalled[pid] = sig; }

    std::vector<std::vector<std::string>> spawned;
    std::map<int, int> signalled;
    int next_pid = 1000;
};

struct Server {
    // configure: changes to the defaults below, before finish_config.
    explicit Server(const std::function<void(ServerConfig&)>& configure = {}) {
        config.state_dir = dir.path();
        config.listen = "127.0.0.1:8080";
        config.multicast_interface = "eth0";
        config.auto_threshold = 3;
        if (configure) configure(config);
        REQUIRE(finish_config(config, "/usr/bin/provisionerd").empty());
        auto opened = open_sqlite_store(":memory:");
        REQUIRE(opened.is_ok());
        store = std::move(*opened);
        StateFiles files{dir.path()};
        auto init = initialise_state(files, *store);
        REQUIRE_MESSAGE(init.is_ok(), init.status().message());
        std::ifstream in(files.operator_token());
        in >> token;
        auto key = imaging::VerifyKey::load(files.public_key());
        REQUIRE(key.is_ok());
        verify_key = std::make_unique<imaging::VerifyKey>(*key);
        auth = std::make_unique<Authenticator>(*store, init->host_secret);
        discovery = std::make_unique<DiscoveryGate>(DiscoveryLimits::from(config), discovery_clock);
        orchestrator = std::make_unique<Orchestrator>(*store, config, launcher, "PEM",
                                                      [](const std::string&) {});
        vms_ptr = std::make_unique<VmRegistry>(*store);
        services_ptr = std::make_unique<ServiceBoard>(*store);
        ctx = std::make_unique<ApiContext>(
            ApiContext{*store, *auth, *orchestrator, *vms_ptr, *services_ptr, no_dhcp, config,
                       *verify_key, "test", *discovery});
        mount_api(router, *ctx, std::make_shared<imaging::torrent::Tracker>());
    }

    imaging::http::Response call(bhttp::verb method, const std::string& target,
                                 const std::string& body = "", const std::string& bearer = "-") {
        imaging::http::Request req{method, target, 11};
        std::string who = bearer == "-" ? token : bearer;
        if (!who.empty()) req.set(bhttp::field::authorization, "Bearer " + who);
        req.body() = body;
        req.prepare_payload();
        return router.route(req, {}).into_text();
    }
    json call_json(bhttp::verb method, const std::string& target, const std::string& body = "",
                   const std::string& bearer = "-") {
        auto res = call(method, target, body, bearer);
        last_status = res.result_int();
        return json::parse(res.body(), nullptr, false);
    }

    // A long operation's answer as a client that waits sees it: a 202 with a job is followed
    // (GET /api/v1/jobs/ID) until the job ends; then last_status is 201 and the result is
    // returned, or the error's status and {"error": ...}. Other answers pass through.
    json finish_job(json answer) {
        if (last_status != 202) return answer;
        REQUIRE(answer.contains("location"));
        const std::string location = answer["location"];
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (true) {
            json job = call_json(bhttp::verb::get, location);
            REQUIRE(last_status == 200);
            if (job["state"] == "succeeded") {
                last_status = 201;
                return job["result"];
            }
            if (job["state"] == "failed") {
                last_status = job["error"]["status"].get<unsigned>();
                return json{{"error", job["error"]}};
            }
            REQUIRE(std::chrono::steady_clock::now() < deadline);
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }

    // Where import_image and add_template leave their files: an import directory.
    std::filesystem::path import_dir() const { return StateFiles{dir.path()}.import_dir(); }

    // A signed one-chunk image in the import directory, imported (its job waited for).
    json import_image(const std::string& version = "1") {
        auto raw = import_dir() / ("raw-" + version);
        std::ofstream(raw) << std::string(100000, 'x') << version;
        auto key = imaging::SigningKey::load(StateFiles{dir.path()}.signing_key());
        REQUIRE(key.is_ok());
        imaging::PackOptions options;
        options.name = "dom0";
        options.version = version;
        REQUIRE(
            imaging::pack_image(raw, import_dir() / ("img-" + version), *key, options).is_ok());
        return finish_job(
            call_json(bhttp::verb::post, "/api/v1/images",
                      json{{"path", (import_dir() / ("img-" + version)).string()}}.dump()));
    }

    // A template file in the import directory, added to the catalog (its job waited for). A base is a raw file holding
    // name + version. With a backing it is a qcow2 header whose backing file is backing_file,
    // by default what the catalog expects (BACKING.raw); backing_file "raw" writes a raw file.
    json add_template(const std::string& name, const std::string& version,
                      const json& labels = json::array(), const std::string& backing = "",
                      std::string backing_file = "") {
        auto file = import_dir() / ("tpl-" + name + "-" + version);
        if (backing_file.empty() && !backing.empty()) backing_file = backing + ".raw";
        if (backing_file.empty() || backing_file == "raw")
            std::ofstream(file) << name << version;
        else
            std::ofstream(file, std::ios::binary) << qcow2_header(backing_file);
        json body = {{"path", file.string()}, {"name", name}, {"version", version},
                     {"labels", labels}};
        if (!backing.empty()) body["backing"] = backing;
        return finish_job(call_json(bhttp::verb::post, "/api/v1/templates", body.dump()));
    }

    // The first KiB of a qcow2 overlay: magic, version 3, and its backing file name at 512.
    static std::string qcow2_header(const std::string& backing_file) {
        std::string h(1024, '\0');
        const unsigned char magic[] = {'Q', 'F', 'I', 0xfb, 0, 0, 0, 3};
        for (std::size_t i = 0; i < sizeof magic; ++i) h[i] = char(magic[i]);
        h[14] = char(0x02);  // backing_file_offset = 512, big-endian
        h[19] = char(backing_file.size());
        h.replace(512, backing_file.size(), backing_file);
        return h;
    }

    testutil::TempDir dir;
    ServerConfig config;
    std::unique_ptr<Store> store;
    std::string token;
    std::unique_ptr<imaging::VerifyKey> verify_key;
    std::unique_ptr<Authenticator> auth;
    FakeLauncher launcher;
    // The discovery gate's clock (rate and expiry), moved by the tests that need it.
    base::FakeClock discovery_clock;
    std::unique_ptr<DiscoveryGate> discovery;
    std::unique_ptr<Orchestrator> orchestrator;
    // On the store, as in provisionerd (the store is the truth, these are its cache).
    std::unique_ptr<VmRegistry> vms_ptr;
    std::unique_ptr<ServiceBoard> services_ptr;
    NoDhcp no_dhcp;
    std::unique_ptr<ApiContext> ctx;
    imaging::http::Router router;
    unsigned last_status = 0;
};

// The n-th test host (MAC 52:54:00:00:nn:nn), enrolled in rack r1.
inline Host add_test_host(Store& store, const std::string& name, int n) {
    char mac[18];
    std::snprintf(mac, sizeof mac, "52:54:00:00:%02x:%02x", n / 256, n % 256);
    auto added = store.add_host({*Mac::parse(mac), name, "", "r1"}, HostState::enrolled, "test");
    REQUIRE_MESSAGE(added.is_ok(), added.status().message());
    return *added;
}

// dom0@version, recorded with the given whole-image SHA-256 (none by default).
inline Image add_test_image(Store& store, const std::string& version,
                            const std::string& image_sha256 = "") {
    Image i;
    i.name = "dom0";
    i.version = version;
    i.path = "/images/dom0-" + version;
    i.image_sha256 = image_sha256;
    auto added = store.add_image(i);
    REQUIRE_MESSAGE(added.is_ok(), added.status().message());
    return *added;
}

}  // namespace servertest
