// The orchestrator on a fake clock and a fake launcher: its timeouts (deployment, boot ticket),
// its children's restart backoff and the /health of a child that keeps dying are checked by
// moving time, never by sleeping; and a slow child spawn on the process thread holds back no
// API call (nothing blocking under its lock).
#include <doctest/doctest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <future>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "listen_probe.h"
#include "test_server_fixture.h"

using namespace servertest;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// An orchestrator of its own on the fixture's store and config, on a fake clock.
struct ClockRig {
    explicit ClockRig(pxe::ProcessLauncher& launcher)
        : orchestrator(
              *server.store, server.config, launcher, "PEM",
              [this](const std::string& line) {
                  std::lock_guard lock(log_mu);
                  log.push_back(line);
              },
              clock) {}

    Host host(const std::string& name) { return add_test_host(*server.store, name, next_host++); }
    Image image(const std::string& version) {
        return add_test_image(*server.store, version, "sha-" + version);
    }
    HostState state_of(const Host& h) { return server.store->get_host(h.id)->state; }
    bool logged(const std::string& part) {
        std::lock_guard lock(log_mu);
        return std::any_of(log.begin(), log.end(),
                           [&](const std::string& l) { return l.find(part) != std::string::npos; });
    }

    Server server;
    base::FakeClock clock;
    std::mutex log_mu;
    std::vector<std::string> log;
    Orchestrator orchestrator;
    int next_host = 1;
};

// A child "crashes": the fixture's launcher reaps a pid once it has a signal recorded.
void crash(FakeLauncher& launcher, int pid) {
    launcher.signalled[pid] = SIGSEGV;
}

// A FakeLauncher whose spawns wait, once armed, until the test lets them go on.
class SlowSpawnLauncher : public FakeLauncher {
  public:
    imaging::Result<int> spawn(const std::vector<std::string>& argv) override {
        std::unique_lock lock(mu);
        if (slow) {
            entered = true;
            changed.notify_all();
            changed.wait(lock, [&] { return !slow; });
        }
        return FakeLauncher::spawn(argv);
    }
    void arm() {
        std::lock_guard lock(mu);
        slow = true;
        entered = false;
    }
    bool wait_entered() {
        std::unique_lock lock(mu);
        return changed.wait_for(lock, seconds(10), [&] { return entered; });
    }
    void release() {
        std::lock_guard lock(mu);
        slow = false;
        changed.notify_all();
    }

    std::mutex mu;
    std::condition_variable changed;
    bool slow = false;
    bool entered = false;
};

}  // namespace

TEST_CASE("orchestrator clock: a host that never says hello fails at the deployment timeout") {
    FakeLauncher launcher;
    ClockRig rig(launcher);
    rig.server.config.deploy_timeout = seconds(600);
    const Host h1 = rig.host("h1");
    auto d = rig.orchestrator.deploy(rig.image("1"), {h1}, Transport::multicast);
    REQUIRE(d.is_ok());
    rig.orchestrator.tick();
    CHECK(rig.state_of(h1) == HostState::booting);
    rig.clock.advance(seconds(599));
    rig.orchestrator.tick();
    CHECK(rig.state_of(h1) == HostState::booting);
    CHECK(rig.orchestrator.deployment_of(h1.id) == d->id);
    rig.clock.advance(seconds(1));
    rig.orchestrator.tick();
    CHECK(rig.state_of(h1) == HostState::failed);
    CHECK_FALSE(rig.orchestrator.deployment_of(h1.id));
    CHECK(rig.server.store->get_deployment(d->id)->state == DeploymentState::failed);
    auto targets = rig.server.store->list_targets(d->id);
    REQUIRE(targets.is_ok());
    CHECK(targets->at(0).error == "timed out after 600 s");
    // Its sender was stopped with it.
    CHECK(launcher.signalled.contains(1000));
}

TEST_CASE("orchestrator clock: a crashed sender is restarted after its backoff, not before") {
    FakeLauncher launcher;
    ClockRig rig(launcher);
    const Host h1 = rig.host("h1"), h2 = rig.host("h2");
    auto d = rig.orchestrator.deploy(rig.image("1"), {h1, h2}, Transport::multicast);
    REQUIRE(d.is_ok());
    rig.orchestrator.tick();
    REQUIRE(launcher.spawned.size() == 1);
    REQUIRE(rig.orchestrator.hello(h1, {}).body["action"] == "image");

    crash(launcher, 1000);
    rig.orchestrator.tick();  // reaped; the restart waits
    CHECK(launcher.spawned.size() == 1);
    CHECK(rig.orchestrator.hello(h2, {}).body["action"] == "wait");  // no sender to join
    rig.clock.advance(milliseconds(1999));
    rig.orchestrator.tick();
    CHECK(launcher.spawned.size() == 1);
    rig.clock.advance(milliseconds(1));
    rig.orchestrator.tick();
    REQUIRE(launcher.spawned.size() == 2);
    CHECK(rig.orchestrator.hello(h2, {}).body["action"] == "image");
    // The second run's command follows the hosts left.
    auto argv = launcher.spawned[1];
    auto min = std::find(argv.begin(), argv.end(), "--min-receivers");
    REQUIRE(min != argv.end());
    CHECK(*(min + 1) == "2");
    CHECK(rig.orchestrator.children_problem().empty());
}

TEST_CASE("orchestrator clock: a sender that keeps dying fails its hosts; /health says so") {
    FakeLauncher launcher;
    ClockRig rig(launcher);
    // The fixture's API on this orchestrator.
    const ApiContext& c = *rig.server.ctx;
    ApiContext ctx{c.store, c.auth,   rig.orchestrator, c.vms,  c.services,
                   c.hosts, c.config, c.image_key,      "test", c.discovery};
    imaging::http::Router router;
    mount_api(router, ctx, std::make_shared<imaging::torrent::Tracker>());
    auto health = [&] {
        imaging::http::Request req{bhttp::verb::get, "/api/v1/health", 11};
        return router.route(req, {}).into_text();
    };

    const Host h1 = rig.host("h1");
    auto d = rig.orchestrator.deploy(rig.image("1"), {h1}, Transport::multicast);
    REQUIRE(d.is_ok());
    rig.orchestrator.tick();
    int deaths = 0;
    while (rig.orchestrator.deployment_of(h1.id) && deaths < 10) {
        crash(launcher, 1000 + deaths++);
        rig.orchestrator.tick();  // reaped
        if (deaths == Orchestrator::kChildDeathsUnhealthy) {
            auto res = health();
            CHECK(res.result_int() == 503);
            auto body = json::parse(res.body());
            CHECK(body["checks"]["children"]["ok"] == false);
            CHECK(body["reason"] == "children: multicast sender of deployment " +
                                        std::to_string(d->id) +
                                        " keeps dying: killed by signal 11 (SIGSEGV) (3 times "
                                        "in a row)");
        }
        rig.clock.advance(seconds(16));  // past any backoff
        rig.orchestrator.tick();         // restarted
    }
    CHECK(deaths == Orchestrator::kMaxQuickFailures);
    CHECK(rig.state_of(h1) == HostState::failed);
    CHECK(rig.server.store->list_targets(d->id)->at(0).error ==
          "multicast sender of deployment " + std::to_string(d->id) +
              " keeps failing: killed by signal 11 (SIGSEGV)");
    // The deployment over, its sender is gone, and /health is well again.
    rig.orchestrator.tick();
    CHECK(health().result_int() == 200);
}

TEST_CASE(
    "orchestrator clock: a boot ticket is good for its lifetime from the deployment's start") {
    FakeLauncher launcher;
    ClockRig rig(launcher);
    rig.server.config.boot_ticket_lifetime = seconds(1800);
    const Host h1 = rig.host("h1"), h2 = rig.host("h2");
    auto d = rig.orchestrator.deploy(rig.image("1"), {h1, h2}, Transport::multicast);
    REQUIRE(d.is_ok());
    rig.orchestrator.tick();
    const Orchestrator::HelloCredential ticket{Orchestrator::HelloCredential::Kind::boot_ticket,
                                               d->id};
    rig.clock.advance(seconds(1800));
    CHECK(rig.orchestrator.hello(h1, ticket).body["action"] == "image");
    rig.clock.advance(seconds(1));
    auto late = rig.orchestrator.hello(h2, ticket);
    CHECK(late.refused == "this boot ticket has expired (1800 s after its deployment started)");
    CHECK(rig.state_of(h2) == HostState::booting);  // refused: nothing changed
}

TEST_CASE("orchestrator: a slow child spawn on the process thread holds back no API call") {
    SlowSpawnLauncher launcher;
    ClockRig rig(launcher);
    const Image image = rig.image("1");
    const Host h1 = rig.host("h1"), h2 = rig.host("h2"), h3 = rig.host("h3");
    auto d = rig.orchestrator.deploy(image, {h1, h2}, Transport::multicast);
    REQUIRE(d.is_ok());
    rig.orchestrator.tick();
    REQUIRE(rig.orchestrator.hello(h1, {}).body["action"] == "image");
    rig.orchestrator.progress(h1.id, d->id, 10, 100);

    // The sender crashes; its restart's fork/exec takes until the test releases it.
    crash(launcher, 1000);
    rig.orchestrator.tick();
    rig.clock.advance(seconds(2));
    launcher.arm();
    std::thread process_thread([&] { rig.orchestrator.tick(); });
    REQUIRE(launcher.wait_entered());

    // Meanwhile every API call answers: hello (which writes the store), progress, result,
    // a new deployment, the live figures.
    auto calls = std::async(std::launch::async, [&] {
        auto hello = rig.orchestrator.hello(h2, {});
        CHECK(hello.body["action"] == "wait");  // the sender is not back yet
        CHECK(rig.orchestrator.progress(h1.id, d->id, 50, 100).is_ok());
        std::vector<DeploymentTarget> rows = *rig.server.store->list_targets(d->id);
        rig.orchestrator.overlay_live(d->id, rows);
        CHECK(std::any_of(rows.begin(), rows.end(),
                          [](const DeploymentTarget& r) { return r.bytes_done == 50; }));
        CHECK(rig.orchestrator.deploy(image, {h3}, Transport::delta).is_ok());
        CHECK(rig.orchestrator.result(h1, d->id, false, "disk on fire", json::object()).is_ok());
    });
    const bool answered = calls.wait_for(seconds(10)) == std::future_status::ready;
    CHECK_MESSAGE(answered, "an API call waited for the process thread's spawn");
    launcher.release();
    process_thread.join();
    calls.get();
    CHECK(rig.state_of(h1) == HostState::failed);
    CHECK(rig.state_of(h3) == HostState::booting);
}

TEST_CASE("orchestrator: a deployment that ends while its sender restarts gets its port back") {
    SlowSpawnLauncher launcher;
    ClockRig rig(launcher);
    const Image image = rig.image("1");
    const Host h1 = rig.host("h1"), h2 = rig.host("h2");
    auto d = rig.orchestrator.deploy(image, {h1}, Transport::multicast);
    REQUIRE(d.is_ok());
    rig.orchestrator.tick();
    REQUIRE(rig.orchestrator.hello(h1, {}).body["action"] == "image");
    crash(launcher, 1000);
    rig.orchestrator.tick();
    rig.clock.advance(seconds(2));
    launcher.arm();
    std::thread process_thread([&] { rig.orchestrator.tick(); });
    REQUIRE(launcher.wait_entered());
    // Its only host fails while the sender's restart is under way.
    REQUIRE(rig.orchestrator.result(h1, d->id, false, "disk on fire", json::object()).is_ok());
    launcher.release();
    process_thread.join();
    REQUIRE(launcher.spawned.size() == 2);
    rig.orchestrator.tick();  // the new child is not wanted: SIGTERM, reaped, port free
    CHECK(launcher.signalled.contains(1001));
    auto next = rig.orchestrator.deploy(image, {h2}, Transport::multicast);
    REQUIRE(next.is_ok());
    rig.orchestrator.tick();
    REQUIRE(launcher.spawned.size() == 3);
    auto argv = launcher.spawned[2];
    CHECK(*(std::find(argv.begin(), argv.end(), "--port") + 1) ==
          std::to_string(rig.server.config.multicast_port));
}

TEST_CASE("orchestrator: stop_all stops every child on the clock, SIGKILL after the grace") {
    class StubbornLauncher : public FakeLauncher {
      public:
        void send_signal(int pid, int sig) override {
            if (sig == SIGKILL) FakeLauncher::send_signal(pid, sig);
            sent.push_back(sig);
        }
        std::vector<int> sent;
    } launcher;
    ClockRig rig(launcher);
    REQUIRE(
        rig.orchestrator.deploy(rig.image("1"), {rig.host("h1")}, Transport::multicast).is_ok());
    rig.orchestrator.tick();
    const auto t0 = rig.clock.now();
    rig.orchestrator.stop_all();
    CHECK(launcher.sent == std::vector<int>{SIGTERM, SIGKILL});
    CHECK(rig.clock.now() - t0 >= seconds(5));
    CHECK(rig.clock.now() - t0 < seconds(6));
}

TEST_CASE("listen probe: a listener that drops connections costs the timeout, not minutes") {
    namespace ip = boost::asio::ip;
    boost::asio::io_context ioc;
    ip::tcp::acceptor full(ioc);
    full.open(ip::tcp::v4());
    full.bind({ip::make_address("127.0.0.1"), 0});
    full.listen(0);  // one connection fills its queue; later SYNs are dropped, never refused
    const std::uint16_t port = full.local_endpoint().port();
    ip::tcp::socket first(ioc);
    first.connect({ip::make_address("127.0.0.1"), port});

    const auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(accepts_connections("127.0.0.1", port, milliseconds(300)));
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took >= milliseconds(250));
    CHECK(took < seconds(3));  // the kernel would retry the SYN for about two minutes

    ip::tcp::acceptor open(ioc, {ip::make_address("127.0.0.1"), 0});
    const std::uint16_t open_port = open.local_endpoint().port();
    CHECK(accepts_connections("0.0.0.0", open_port, milliseconds(300)));  // this machine
    open.close();
    const auto t1 = std::chrono::steady_clock::now();
    CHECK_FALSE(accepts_connections("127.0.0.1", open_port, milliseconds(300)));  // refused
    CHECK(std::chrono::steady_clock::now() - t1 < milliseconds(250));
}
