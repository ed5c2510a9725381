// The ports of provisionerd's children: PortPool hands out the lowest free port of a range and
// takes it back with the lease; the orchestrator keeps one with each sender while it runs, so
// that two senders whose ids differ by a range's size no longer share a port (or a multicast
// group), a port comes back once its child is reaped, and a full range fails the deployment.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "port_pool.h"
#include "test_server_fixture.h"

using namespace servertest;

namespace {

// A FakeLauncher whose children outlive SIGTERM until released.
class SlowToDieLauncher : public FakeLauncher {
  public:
    std::optional<pxe::ExitStatus> try_reap(int pid) override {
        if (!dying) return std::nullopt;
        return FakeLauncher::try_reap(pid);
    }
    bool dying = false;
};

// An orchestrator of its own on the fixture's store and config, with the launcher given and
// its log kept.
struct Rig {
    explicit Rig(pxe::ProcessLauncher& launcher)
        : orchestrator(*server.store, server.config, launcher, "PEM",
                       [this](const std::string& line) { log.push_back(line); }) {}

    Host host(const std::string& name) { return add_test_host(*server.store, name, next_host++); }
    Image image(const std::string& version) {
        return add_test_image(*server.store, version);
    }

    Server server;
    std::vector<std::string> log;
    Orchestrator orchestrator;
    int next_host = 1;
};

// The value after `option` in argv, "" without it.
std::string option(const std::vector<std::string>& argv, const std::string& name) {
    auto it = std::find(argv.begin(), argv.end(), name);
    return it == argv.end() || it + 1 == argv.end() ? "" : *(it + 1);
}

}  // namespace

TEST_CASE("port pool: the lowest free port, given back with the lease") {
    PortPool pool;
    auto a = pool.acquire({7000, 3});
    auto b = pool.acquire({7000, 3});
    REQUIRE(a.is_ok());
    REQUIRE(b.is_ok());
    CHECK(a->number() == 7000);
    CHECK(b->number() == 7001);
    { PortLease gone = std::move(*a); }  // destroyed: 7000 is free again
    CHECK(a->number() == 0);             // moved from: holds none
    auto c = pool.acquire({7000, 3});
    REQUIRE(c.is_ok());
    CHECK(c->number() == 7000);
    // Another range of the same pool skips the ports held through the first.
    auto d = pool.acquire({7001, 5});
    REQUIRE(d.is_ok());
    CHECK(d->number() == 7002);

    auto full = pool.acquire({7000, 3});
    REQUIRE_FALSE(full.is_ok());
    CHECK(full.status().code() == Code::conflict);
    CHECK(full.status().message() == "all 3 ports from 7000 to 7002 are in use");
}

TEST_CASE("port pool: a range ends at 65535") {
    PortPool pool;
    auto a = pool.acquire({65535, 100});
    REQUIRE(a.is_ok());
    CHECK(a->number() == 65535);
    auto b = pool.acquire({65535, 100});
    REQUIRE_FALSE(b.is_ok());
    CHECK(b.status().message() == "all 1 ports from 65535 to 65535 are in use");
}

TEST_CASE("orchestrator ports: two images whose ids differ by 1000 get different ports") {
    FakeLauncher launcher;
    Rig rig(launcher);
    // Something listens where the first delta server will, so that its job can be handed out.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor listener(
        ioc, {boost::asio::ip::make_address("127.0.0.1"), std::uint16_t(0)});
    const std::uint16_t port = listener.local_endpoint().port();
    rig.server.config.delta_port = port;

    const Image first = rig.image("0");
    for (int i = 1; i < 1000; ++i) rig.image(std::to_string(i));
    const Image later = rig.image("1000");
    REQUIRE(later.id == first.id + 1000);
    const Host h1 = rig.host("h1"), h2 = rig.host("h2");
    REQUIRE(rig.orchestrator.deploy(later, {h1}, Transport::delta).is_ok());
    REQUIRE(rig.orchestrator.deploy(first, {h2}, Transport::delta).is_ok());
    rig.orchestrator.tick();
    REQUIRE(launcher.spawned.size() == 2);
    std::vector<std::string> listens;
    for (const auto& argv : launcher.spawned) listens.push_back(option(argv, "--listen"));
    std::sort(listens.begin(), listens.end());
    CHECK(listens == std::vector<std::string>{"0.0.0.0:" + std::to_string(port),
                                              "0.0.0.0:" + std::to_string(port + 1)});

    // The job names the port the image's server holds, not one derived from the image id.
    rig.orchestrator.tick();  // sees the listener
    auto job = rig.orchestrator.hello(h1, {}).body;
    REQUIRE(job["action"] == "image");
    CHECK(job["job"]["delta"]["from"] == "127.0.0.1:" + std::to_string(port));
}

TEST_CASE("orchestrator ports: a port comes back once its child is reaped") {
    SlowToDieLauncher launcher;
    Rig rig(launcher);
    const Image a = rig.image("a"), b = rig.image("b"), c = rig.image("c");
    const Host h1 = rig.host("h1"), h2 = rig.host("h2"), h3 = rig.host("h3");
    const std::string first = "0.0.0.0:" + std::to_string(rig.server.config.delta_port);
    REQUIRE(rig.orchestrator.deploy(a, {h1}, Transport::delta).is_ok());
    rig.orchestrator.tick();
    REQUIRE(launcher.spawned.size() == 1);
    CHECK(option(launcher.spawned[0], "--listen") == first);

    // a's deployment times out; its server is sent SIGTERM but has not exited yet.
    rig.server.config.deploy_timeout = std::chrono::seconds(0);
    rig.orchestrator.tick();
    CHECK(launcher.signalled.contains(1000));
    rig.server.config.deploy_timeout = std::chrono::seconds(3600);
    REQUIRE(rig.orchestrator.deploy(b, {h2}, Transport::delta).is_ok());
    rig.orchestrator.tick();
    REQUIRE(launcher.spawned.size() == 2);
    CHECK(option(launcher.spawned[1], "--listen") != first);

    // Reaped: its port is the lowest free one again.
    launcher.dying = true;
    rig.orchestrator.tick();
    REQUIRE(rig.orchestrator.deploy(c, {h3}, Transport::delta).is_ok());
    rig.orchestrator.tick();
    REQUIRE(launcher.spawned.size() == 3);
    CHECK(option(launcher.spawned[2], "--listen") == first);
}

TEST_CASE("orchestrator ports: multicast deployments at once get their own group and port") {
    FakeLauncher launcher;
    Rig rig(launcher);
    const Image image = rig.image("1");
    const Host h1 = rig.host("h1"), h2 = rig.host("h2"), h3 = rig.host("h3");
    auto d1 = rig.orchestrator.deploy(image, {h1}, Transport::multicast);
    auto d2 = rig.orchestrator.deploy(image, {h2}, Transport::multicast);
    REQUIRE(d1.is_ok());
    REQUIRE(d2.is_ok());
    rig.orchestrator.tick();
    REQUIRE(launcher.spawned.size() == 2);
    const std::string base = std::to_string(rig.server.config.multicast_port);
    const std::string next = std::to_string(rig.server.config.multicast_port + 1);
    CHECK(option(launcher.spawned[0], "--group") == "239.77.0.1");
    CHECK(option(launcher.spawned[0], "--port") == base);
    CHECK(option(launcher.spawned[1], "--group") == "239.77.0.2");
    CHECK(option(launcher.spawned[1], "--port") == next);
    auto job = rig.orchestrator.hello(h2, {}).body;
    REQUIRE(job["action"] == "image");
    CHECK(job["job"]["multicast"] == json{{"group", "239.77.0.2"}, {"port", std::stoi(next)}});

    // The first ends (its host fails); its session is the next one's.
    rig.orchestrator.hello(h1, {});
    REQUIRE(rig.orchestrator.result(h1, d1->id, false, "disk on fire", json::object()).is_ok());
    rig.orchestrator.tick();
    REQUIRE(rig.orchestrator.deploy(image, {h3}, Transport::multicast).is_ok());
    rig.orchestrator.tick();
    REQUIRE(launcher.spawned.size() == 3);
    CHECK(option(launcher.spawned[2], "--group") == "239.77.0.1");
    CHECK(option(launcher.spawned[2], "--port") == base);
}

TEST_CASE("orchestrator ports: a full range fails the deployment and records nothing") {
    FakeLauncher launcher;
    Rig rig(launcher);
    rig.server.config.torrent_port = 65534;  // a range cut to two ports
    const Image image = rig.image("1");
    const Host h1 = rig.host("h1"), h2 = rig.host("h2"), h3 = rig.host("h3");
    REQUIRE(rig.orchestrator.deploy(image, {h1}, Transport::torrent).is_ok());
    REQUIRE(rig.orchestrator.deploy(image, {h2}, Transport::torrent).is_ok());
    auto full = rig.orchestrator.deploy(image, {h3}, Transport::torrent);
    REQUIRE_FALSE(full.is_ok());
    CHECK(full.status().code() == Code::conflict);
    CHECK(full.status().message() ==
          "no free port for a seed: all 2 ports from 65534 to 65535 are in use");
    CHECK(rig.server.store->list_deployments()->size() == 2);
    CHECK(rig.server.store->get_host(h3.id)->state == HostState::enrolled);
}

TEST_CASE("orchestrator ports: every delta port held, a new image's deployment fails") {
    FakeLauncher launcher;
    Rig rig(launcher);
    std::vector<Image> images;
    for (int i = 0; i <= 1000; ++i) images.push_back(rig.image(std::to_string(i)));
    for (int i = 0; i < 1000; ++i)
        REQUIRE(rig.orchestrator
                    .deploy(images[i], {rig.host("h" + std::to_string(i))}, Transport::delta)
                    .is_ok());
    // Another deployment of a served image needs no port.
    CHECK(rig.orchestrator.deploy(images[0], {rig.host("again")}, Transport::delta).is_ok());
    auto full = rig.orchestrator.deploy(images[1000], {rig.host("last")}, Transport::delta);
    REQUIRE_FALSE(full.is_ok());
    CHECK(full.status().code() == Code::conflict);
    CHECK(
        full.status().message().starts_with("no free port for the delta server for dom0@1000: "
                                            "all 1000 ports from 7000 to 7999 are in use"));
}

TEST_CASE("orchestrator ports: a hot template without a free port waits for one, logged once") {
    FakeLauncher launcher;
    Rig rig(launcher);
    rig.server.config.delta_port = 65535 - 2000;  // one template port: 65535
    rig.server.config.template_cool_down = std::chrono::seconds(3600);
    for (const char* name : {"alpine", "debian"}) {
        rig.server.add_template(name, "1");
        REQUIRE(rig.server.last_status == 201);
        auto t = rig.server.store->find_template(name, "1");
        REQUIRE(t.is_ok());
        REQUIRE(rig.server.store->mark_template_used(t->id, rig.server.store->now()));
    }
    rig.orchestrator.tick();
    rig.orchestrator.tick();
    REQUIRE(launcher.spawned.size() == 1);
    CHECK(option(launcher.spawned[0], "--listen") == "0.0.0.0:65535");
    CHECK(std::count(rig.log.begin(), rig.log.end(),
                     "no free port for the delta server for template debian@1: all 1 ports from "
                     "65535 to 65535 are in use; it starts once one is free") == 1);

    // alpine@1 goes: once its server is reaped, debian@1's starts on the port.
    rig.server.call_json(bhttp::verb::delete_, "/api/v1/templates/alpine@1");
    REQUIRE(rig.server.last_status == 200);
    rig.orchestrator.tick();
    rig.orchestrator.tick();
    REQUIRE(launcher.spawned.size() == 2);
    CHECK(option(launcher.spawned[1], "--image").ends_with("debian@1.image"));
    CHECK(option(launcher.spawned[1], "--listen") == "0.0.0.0:65535");
}

TEST_CASE("orchestrator: the torrent is made by a child the tick reaps, never waited for") {
    // `imaging torrent` runs until the test lets it finish: with the old wait under the lock,
    // the first tick would never have returned.
    class TorrentLauncher : public FakeLauncher {
      public:
        std::optional<pxe::ExitStatus> try_reap(int pid) override {
            if (pid == maker && done) return pxe::ExitStatus::exited(0);
            return FakeLauncher::try_reap(pid);
        }
        int maker = 0;
        bool done = false;
    } launcher;
    Rig rig(launcher);
    const Image image = rig.image("1");
    const Host h1 = rig.host("h1");
    auto d = rig.orchestrator.deploy(image, {h1}, Transport::torrent);
    REQUIRE(d.is_ok());
    rig.orchestrator.tick();
    REQUIRE(launcher.spawned.size() == 1);
    CHECK(launcher.spawned[0][1] == "torrent");
    launcher.maker = 1000;
    rig.orchestrator.tick();  // still hashing: nothing else is started, and tick returns
    CHECK(launcher.spawned.size() == 1);
    CHECK(rig.orchestrator.hello(h1, {}).body["action"] == "wait");

    const auto file = rig.server.config.state_dir / "torrents" / (std::to_string(d->id) + ".torrent");
    std::ofstream(file) << "d8:announce0:e";
    launcher.done = true;
    rig.orchestrator.tick();  // reaps it and starts the seed
    REQUIRE(launcher.spawned.size() == 2);
    CHECK(launcher.spawned[1][1] == "seed");
    CHECK(rig.orchestrator.torrent(d->id).has_value());
}
