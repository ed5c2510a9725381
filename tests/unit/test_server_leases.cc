// Ownership of deployments (lease_keeper.h) on a fake clock: a lease is renewed every third of
// its time, taken over once its holder stops renewing, and its former holder learns it lost
// it; two orchestrators on one store: the second takes a delta deployment over when the
// first stops ticking, with an event per unfinished host, and the first, back, lets it go; a
// multicast deployment taken over is finished by delta.
#include <doctest/doctest.h>

#include <algorithm>

#include <boost/asio/ip/tcp.hpp>

#include "base/clock.h"
#include "lease_keeper.h"
#include "test_server_fixture.h"

using namespace servertest;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("leases: renewed every third of their time, taken over once expired, lost by the old holder") {
    auto opened = open_sqlite_store(":memory:");
    REQUIRE(opened.is_ok());
    Store& store = **opened;
    base::FakeClock clock;
    LeaseKeeper a(store, clock, "server-a", seconds(9));
    LeaseKeeper b(store, clock, "server-b", seconds(9));
    auto expiry = [&] { return store.list_leases()->at(0).expires_at; };

    auto got = a.acquire(deployment_lease(7));
    REQUIRE(got.is_ok());
    CHECK(got->owner == "server-a");
    CHECK(a.holds("deployment:7"));
    auto refused = b.acquire("deployment:7");
    REQUIRE(refused.is_ok());
    CHECK(refused->owner == "server-a");
    CHECK_FALSE(b.holds("deployment:7"));

    REQUIRE(a.renew_if_due().is_ok());  // the first call renews
    const Timestamp first = expiry();
    clock.advance(milliseconds(2999));
    CHECK(a.renew_if_due()->empty());
    CHECK(expiry() == first);  // not due yet: nothing written
    clock.advance(milliseconds(1));
    CHECK(a.renew_if_due()->empty());
    CHECK(expiry() == first + 3000);

    // a stops renewing: alive until its expiry, taken over at it.
    clock.advance(milliseconds(8999));
    CHECK(b.expired(kDeploymentLeasePrefix)->empty());
    clock.advance(milliseconds(1));
    auto dead = b.expired(kDeploymentLeasePrefix);
    REQUIRE(dead.is_ok());
    REQUIRE(dead->size() == 1);
    CHECK(dead->at(0).owner == "server-a");
    CHECK(a.expired(kDeploymentLeasePrefix)->empty());  // its own: not for it to take
    auto taken = b.acquire(dead->at(0).name);
    REQUIRE(taken.is_ok());
    CHECK(taken->owner == "server-b");
    CHECK(taken->taken_from == "server-a");
    CHECK(b.holds("deployment:7"));

    // a comes back: its renewal says what it lost.
    auto lost = a.renew_if_due();
    REQUIRE(lost.is_ok());
    CHECK(*lost == std::vector<std::string>{"deployment:7"});
    CHECK_FALSE(a.holds("deployment:7"));
    REQUIRE(b.release("deployment:7"));
    CHECK(store.list_leases()->empty());

    CHECK(deployment_of_lease("deployment:12") == 12);
    for (const char* bad : {"deployment:", "deployment:1x", "hot-templates", "deployment:-1",
                            "deployment:12345678901234567890"})
        CHECK_MESSAGE(deployment_of_lease(bad) == 0, bad);
}

TEST_CASE("takeover: a second orchestrator adopts a delta deployment whose owner stopped") {
    Server server;  // the store both share
    testutil::TempDir other_dir;
    ServerConfig other = server.config;
    other.state_dir = other_dir.path();
    base::FakeClock clock;
    FakeLauncher launcher_a, launcher_b;
    std::vector<std::string> log_b;
    auto lease_a = std::make_shared<LeaseKeeper>(*server.store, clock, "server-a", seconds(6));
    auto lease_b = std::make_shared<LeaseKeeper>(*server.store, clock, "server-b", seconds(6));
    auto a = std::make_unique<Orchestrator>(*server.store, server.config, launcher_a, "PEM",
                                            [](const std::string&) {}, clock);
    Orchestrator b(*server.store, other, launcher_b, "PEM",
                   [&log_b](const std::string& line) { log_b.push_back(line); }, clock);
    a->set_leases(lease_a);
    b.set_leases(lease_b);
    const Host h1 = add_test_host(*server.store, "h1", 1);
    const Host h2 = add_test_host(*server.store, "h2", 2);
    const Image image = add_test_image(*server.store, "1", "sha-1");
    auto d = a->deploy(image, {h1, h2}, Transport::delta);
    REQUIRE(d.is_ok());
    CHECK(lease_a->holds(deployment_lease(d->id)));
    a->tick();
    b.tick();
    CHECK_FALSE(b.deployment_of(h1.id));  // a's, alive
    CHECK(b.running_elsewhere(d->id, h1.id));
    CHECK_FALSE(a->running_elsewhere(d->id, h1.id));
    // h1's part ended before the takeover: it stays as it is.
    DeploymentTarget done;
    done.deployment = d->id;
    done.host = h1.id;
    done.state = TargetState::succeeded;
    done.bytes_done = done.bytes_total = 5;
    REQUIRE(server.store->update_target(done));

    // h2 was imaging from a (its hello claimed its part).
    DeploymentTarget imaging_h2;
    imaging_h2.deployment = d->id;
    imaging_h2.host = h2.id;
    imaging_h2.state = TargetState::running;
    imaging_h2.bytes_done = 40;
    imaging_h2.bytes_total = 100;
    REQUIRE(server.store->update_target(imaging_h2));

    // a stops ticking (dead): b takes over once a's lease has expired, not before.
    clock.advance(milliseconds(5900));
    b.tick();
    CHECK_FALSE(b.deployment_of(h2.id));
    clock.advance(milliseconds(1200));
    b.tick();
    CHECK(b.deployment_of(h2.id) == d->id);
    CHECK_FALSE(b.deployment_of(h1.id));
    CHECK_FALSE(b.running_elsewhere(d->id, h2.id));
    CHECK(lease_b->holds(deployment_lease(d->id)));
    // Its own delta server for the image.
    CHECK(std::any_of(launcher_b.spawned.begin(), launcher_b.spawned.end(), [&](const auto& argv) {
        return argv.size() > 3 && argv[1] == "serve" && argv[3] == image.path;
    }));
    EventFilter filter;
    filter.host = h2.id;
    auto events = server.store->list_events(filter);
    REQUIRE(events.is_ok());
    const auto taken = std::count_if(events->begin(), events->end(), [](const Event& e) {
        return e.reason.find("taken over by server-b from server-a") != std::string::npos;
    });
    CHECK(taken == 1);
    filter.host = h1.id;
    for (const Event& e : *server.store->list_events(filter))
        CHECK(e.reason.find("taken over") == std::string::npos);
    // A later scan takes nothing twice.
    clock.advance(seconds(2));
    b.tick();
    filter.host = h2.id;
    auto again = server.store->list_events(filter);
    REQUIRE(again.is_ok());
    CHECK(std::count_if(again->begin(), again->end(), [](const Event& e) {
              return e.reason.find("taken over") != std::string::npos;
          }) == 1);

    // The first progress under b is an event; the next is not.
    auto resumed = [&] {
        auto all = server.store->list_events(filter);
        REQUIRE(all.is_ok());
        return std::count_if(all->begin(), all->end(), [](const Event& e) {
            return e.reason.find("imaging resumed under server-b") != std::string::npos;
        });
    };
    CHECK(resumed() == 0);
    REQUIRE(b.progress(h2.id, d->id, 50, 100));
    REQUIRE(b.progress(h2.id, d->id, 60, 100));
    CHECK(resumed() == 1);

    // a was only stalled: its next tick finds the lease gone and stops driving it.
    CHECK(a->deployment_of(h2.id) == d->id);
    a->tick();
    CHECK_FALSE(a->deployment_of(h2.id));
    CHECK(a->running_elsewhere(d->id, h2.id));
    CHECK(server.store->get_deployment(d->id)->state == DeploymentState::running);
}

TEST_CASE("takeover: a multicast deployment's unfinished hosts are finished by delta") {
    namespace ip = boost::asio::ip;
    boost::asio::io_context ioc;
    ip::tcp::acceptor listening(ioc, {ip::make_address("127.0.0.1"), 0});  // b's delta server
    Server server;
    testutil::TempDir other_dir;
    ServerConfig other = server.config;
    other.state_dir = other_dir.path();
    other.delta_port = listening.local_endpoint().port();
    base::FakeClock clock;
    FakeLauncher launcher_a, launcher_b;
    auto lease_a = std::make_shared<LeaseKeeper>(*server.store, clock, "server-a", seconds(6));
    auto lease_b = std::make_shared<LeaseKeeper>(*server.store, clock, "server-b", seconds(6));
    Orchestrator a(*server.store, server.config, launcher_a, "PEM", [](const std::string&) {},
                   clock);
    Orchestrator b(*server.store, other, launcher_b, "PEM", [](const std::string&) {}, clock);
    a.set_leases(lease_a);
    b.set_leases(lease_b);
    const Host h1 = add_test_host(*server.store, "h1", 1);
    const Image image = add_test_image(*server.store, "1", "sha-1");
    auto d = a.deploy(image, {h1}, Transport::multicast);
    REQUIRE(d.is_ok());
    a.tick();
    DeploymentTarget imaging_h1;
    imaging_h1.deployment = d->id;
    imaging_h1.host = h1.id;
    imaging_h1.state = TargetState::running;
    imaging_h1.transport = Transport::multicast;
    imaging_h1.bytes_done = 30;
    imaging_h1.bytes_total = 100;
    REQUIRE(server.store->update_target(imaging_h1));

    // a dies; b takes the deployment over once a's lease has expired, with a delta server.
    clock.advance(milliseconds(7100));
    b.tick();
    REQUIRE(b.deployment_of(h1.id) == d->id);
    CHECK(server.store->get_deployment(d->id)->state == DeploymentState::running);
    CHECK(std::any_of(launcher_b.spawned.begin(), launcher_b.spawned.end(), [&](const auto& argv) {
        return argv.size() > 3 && argv[1] == "serve" && argv[3] == image.path;
    }));
    CHECK(std::none_of(launcher_b.spawned.begin(), launcher_b.spawned.end(),
                       [](const auto& argv) {
                           return std::find(argv.begin(), argv.end(), "multicast") != argv.end();
                       }));
    EventFilter filter;
    filter.host = h1.id;
    auto events = server.store->list_events(filter);
    REQUIRE(events.is_ok());
    CHECK(std::count_if(events->begin(), events->end(), [](const Event& e) {
              return e.reason.find("taken over by server-b from server-a") != std::string::npos &&
                     e.reason.find("finished by delta") != std::string::npos;
          }) == 1);
    // Its agent, whose multicast transfer broke off, asks again: a delta job from b's server.
    b.tick();  // its delta server (the listener above) accepts: ready
    auto job = b.hello(h1, {});
    REQUIRE(job.body["action"] == "image");
    CHECK(job.body["job"]["transport"] == "delta");
    CHECK(job.body["job"]["delta"]["from"] ==
          "127.0.0.1:" + std::to_string(listening.local_endpoint().port()));
}
