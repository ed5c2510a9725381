// Proof of receipt in provisionerd (API.md, "Proof of receipt"): an agent's `result ok:true`
// of a delta or multicast deployment marks its host imaged only once that host's sender has
// confirmed delivering the image to it, by a line in the delivery log its argv names (what
// `imaging serve` / `imaging send` write when a receipt verifies; here the test writes it,
// standing in for the sender the fake launcher did not start). On a fake clock.
#include <doctest/doctest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <fstream>

#include "base/clock.h"
#include "delivery_board.h"
#include "imaging/delivery.h"
#include "imaging/secret.h"
#include "test_server_fixture.h"

using namespace servertest;
using std::chrono::seconds;

namespace {

constexpr const char* kSha = "ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01";

struct ReceiptRig {
    explicit ReceiptRig(const std::function<void(ServerConfig&)>& configure = {})
        : server(configure),
          orchestrator(
              *server.store, server.config, launcher, "PEM",
              [this](const std::string& line) { log.push_back(line); }, clock) {}

    Host host(const std::string& name) { return add_test_host(*server.store, name, next_host++); }
    HostState state_of(const Host& h) { return server.store->get_host(h.id)->state; }
    std::string option(const std::string& name, std::size_t spawn = 0) {
        REQUIRE(launcher.spawned.size() > spawn);
        const auto& argv = launcher.spawned[spawn];
        auto it = std::find(argv.begin(), argv.end(), name);
        REQUIRE_MESSAGE(it != argv.end(), name);
        REQUIRE(it + 1 != argv.end());
        return *(it + 1);
    }
    // What the sender appends once the receipt of `receiver` verifies.
    void sender_confirms(const std::string& receiver, const std::string& sha = kSha,
                         std::size_t spawn = 0) {
        imaging::Delivery d{receiver, "multicast", sha, "10.0.0.7:7700", 0, 4, 0};
        std::ofstream(option("--delivery-log", spawn), std::ios::app)
            << imaging::encode_delivery(d) << "\n";
    }
    bool logged(const std::string& part) {
        return std::any_of(log.begin(), log.end(),
                           [&](const std::string& l) { return l.find(part) != std::string::npos; });
    }
    std::string target_error(DeploymentId d) { return server.store->list_targets(d)->at(0).error; }
    bool event_says(const std::string& part) {
        auto events = server.store->list_events({});
        REQUIRE(events.is_ok());
        return std::any_of(events->begin(), events->end(), [&](const Event& e) {
            return e.reason.find(part) != std::string::npos;
        });
    }

    FakeLauncher launcher;
    Server server;
    base::FakeClock clock;
    std::vector<std::string> log;
    Orchestrator orchestrator;
    int next_host = 1;
};

const json kOk = {{"sha256", kSha}, {"bytes_received", 4096}};

}  // namespace

TEST_CASE("receiver ids: DEPLOYMENT/HOST and nothing else") {
    std::int64_t d = 0, h = 0;
    CHECK(receiver_id_of(12, 7) == "12/7");
    CHECK(parse_receiver_id("12/7", d, h));
    CHECK((d == 12 && h == 7));
    for (const char* bad :
         {"", "12", "12/", "/7", "a/7", "12/7/1", "-1/7", "0/7", "12/7x", "99999999999999999999/1"})
        CHECK_FALSE_MESSAGE(parse_receiver_id(bad, d, h), bad);
}

TEST_CASE("receipts: a multicast result ok is held until the sender confirms, then imaged") {
    ReceiptRig rig;
    const Host h1 = rig.host("h1"), h2 = rig.host("h2");
    auto image = add_test_image(*rig.server.store, "1", kSha);
    auto d = rig.orchestrator.deploy(image, {h1, h2}, Transport::multicast);
    REQUIRE(d.is_ok());
    rig.orchestrator.tick();
    // The sender proves receipts under a secret of its own, which no job carries.
    const std::string receipts = rig.option("--receipt-secret-file");
    auto master = imaging::read_secret_file(receipts);
    REQUIRE(master);
    auto job = rig.orchestrator.hello(h1, {}).body;
    REQUIRE(job["action"] == "image");
    const std::string id = receiver_id_of(d->id, h1.id);
    CHECK(job["job"]["receiver_id"] == id);
    CHECK(job["job"]["receipt_key"] == imaging::secret_to_hex(imaging::receiver_key(*master, id)));
    CHECK(job["job"]["secret"] != imaging::secret_to_hex(*master));
    CHECK(job.dump().find(imaging::secret_to_hex(*master)) == std::string::npos);

    auto held = rig.orchestrator.result(h1, d->id, true, "", kOk);
    REQUIRE(held.is_ok());
    CHECK(held->held);
    CHECK(held->reason.find("no delivery confirmed by the sender") != std::string::npos);
    CHECK(rig.state_of(h1) == HostState::imaging);
    CHECK_FALSE(rig.server.store->get_host(h1.id)->image.has_value());
    CHECK(rig.event_says("result ok held: no delivery confirmed by the sender"));

    // Another host's confirmation is not this one's.
    rig.sender_confirms(receiver_id_of(d->id, h2.id));
    rig.orchestrator.tick();
    CHECK(rig.state_of(h1) == HostState::imaging);
    rig.sender_confirms(id);
    rig.orchestrator.tick();
    CHECK(rig.state_of(h1) == HostState::imaged);
    CHECK(rig.server.store->get_host(h1.id)->image == image.id);
    CHECK(rig.logged("delivery confirmed by the multicast sender (receipt from 10.0.0.7:7700)"));

    // h2's confirmation came before its result: believed at once.
    REQUIRE(rig.orchestrator.hello(h2, {}).body["action"] == "image");
    auto at_once = rig.orchestrator.result(h2, d->id, true, "", kOk);
    REQUIRE(at_once.is_ok());
    CHECK_FALSE(at_once->held);
    CHECK(rig.state_of(h2) == HostState::imaged);
    CHECK(rig.server.store->get_deployment(d->id)->state == DeploymentState::succeeded);
}

TEST_CASE("receipts: a result ok nobody delivered fails at the deadline, never imaged") {
    ReceiptRig rig([](ServerConfig& c) { c.deploy_timeout = seconds(300); });
    const Host h1 = rig.host("h1");
    auto image = add_test_image(*rig.server.store, "1", kSha);
    auto d = rig.orchestrator.deploy(image, {h1}, Transport::multicast);
    REQUIRE(d.is_ok());
    rig.orchestrator.tick();
    // Whoever said hello first with the host's ticket holds its job and the image's sha256.
    REQUIRE(rig.orchestrator.hello(h1, {}).body["action"] == "image");
    CHECK(rig.orchestrator.result(h1, d->id, true, "", kOk)->held);
    // A confirmation of another image, or of this host in another deployment, counts nothing.
    rig.sender_confirms(receiver_id_of(d->id, h1.id), std::string(64, 'f'));
    rig.sender_confirms(receiver_id_of(d->id + 1, h1.id));
    rig.orchestrator.tick();
    CHECK(rig.state_of(h1) == HostState::imaging);
    CHECK(rig.logged("confirmed delivering another image"));
    rig.clock.advance(seconds(300));
    rig.orchestrator.tick();
    CHECK(rig.state_of(h1) == HostState::failed);
    CHECK_FALSE(rig.server.store->get_host(h1.id)->image.has_value());
    CHECK(rig.target_error(d->id).find("no delivery confirmed by the sender") != std::string::npos);
    CHECK(rig.server.store->get_deployment(d->id)->state == DeploymentState::failed);
}

TEST_CASE("receipts: a held result still fails on the agent's own failure or a wrong sha256") {
    ReceiptRig rig;
    const Host h1 = rig.host("h1"), h2 = rig.host("h2");
    auto image = add_test_image(*rig.server.store, "1", kSha);
    auto d = rig.orchestrator.deploy(image, {h1, h2}, Transport::multicast);
    REQUIRE(d.is_ok());
    rig.orchestrator.tick();
    REQUIRE(rig.orchestrator.hello(h1, {}).body["action"] == "image");
    REQUIRE(rig.orchestrator.hello(h2, {}).body["action"] == "image");
    CHECK(rig.orchestrator.result(h1, d->id, true, "", kOk)->held);
    CHECK(rig.orchestrator.result(h1, d->id, false, "disk on fire", json::object()).is_ok());
    CHECK(rig.state_of(h1) == HostState::failed);
    rig.sender_confirms(receiver_id_of(d->id, h1.id));  // too late: its part is over
    rig.sender_confirms(receiver_id_of(d->id, h2.id));
    rig.orchestrator.tick();
    CHECK(rig.state_of(h1) == HostState::failed);
    // Delivered, but the agent reports another image: refused as before.
    auto other = rig.orchestrator.result(h2, d->id, true, "", {{"sha256", std::string(64, 'e')}});
    CHECK_FALSE(other.is_ok());
    CHECK(rig.state_of(h2) == HostState::failed);
}

TEST_CASE("receipts: a delta job carries the host's own key, never the server's secret") {
    namespace ip = boost::asio::ip;
    boost::asio::io_context ioc;
    ip::tcp::acceptor listening(ioc, {ip::make_address("127.0.0.1"), 0});
    const int port = listening.local_endpoint().port();
    ReceiptRig rig([&](ServerConfig& c) { c.delta_port = port; });
    const Host h1 = rig.host("h1");
    auto image = add_test_image(*rig.server.store, "1", kSha);
    auto d = rig.orchestrator.deploy(image, {h1}, Transport::delta);
    REQUIRE(d.is_ok());
    rig.orchestrator.tick();  // the "server" (our listener on its port) accepts: it is ready
    auto server_secret = imaging::read_secret_file(rig.option("--secret-file"));
    REQUIRE(server_secret);
    const std::string log = rig.option("--delivery-log");
    CHECK(std::filesystem::path(log).parent_path() == rig.server.config.state_dir / "deliveries");
    auto job = rig.orchestrator.hello(h1, {}).body;
    REQUIRE(job["action"] == "image");
    const std::string id = receiver_id_of(d->id, h1.id);
    CHECK(job["job"]["receiver_id"] == id);
    CHECK(job["job"]["secret"] ==
          imaging::secret_to_hex(imaging::receiver_key(*server_secret, id)));
    CHECK(job.dump().find(imaging::secret_to_hex(*server_secret)) == std::string::npos);
    CHECK_FALSE(job["job"].contains("receipt_key"));

    CHECK(rig.orchestrator.result(h1, d->id, true, "", kOk)->held);
    imaging::Delivery delivered{id, "delta", kSha, "10.0.0.8:51000", 3, 4, 9000};
    std::ofstream(log, std::ios::app) << imaging::encode_delivery(delivered) << "\n";
    rig.orchestrator.tick();
    CHECK(rig.state_of(h1) == HostState::imaged);
    CHECK(
        rig.logged("delivery confirmed by the delta sender (receipt from 10.0.0.8:51000, 3 of 4 "
                   "chunks sent)"));
}

TEST_CASE("delivery board: whole lines once each, a half-written line later, bad lines said") {
    testutil::TempDir tmp;
    const auto dir = tmp / "deliveries";
    DeliveryBoard board(dir);
    CHECK(board.poll().empty());  // no directory yet
    std::filesystem::create_directories(dir);
    const auto log = dir / "a.log";
    const std::string line = imaging::encode_delivery({"1/2", "delta", kSha, "", 0, 0, 0});
    {
        std::ofstream out(log);
        out << line << "\n" << line.substr(0, 10);
    }
    CHECK(board.poll().size() == 1);
    CHECK(board.poll().empty());
    {
        std::ofstream out(log, std::ios::app);
        out << line.substr(10) << "\nnot a delivery\n";
    }
    std::vector<std::string> problems;
    auto found = board.poll(&problems);
    REQUIRE(found.size() == 1);
    CHECK(found[0].receiver == "1/2");
    CHECK(problems.size() == 1);
    std::ofstream(dir / "ignored.txt") << line << "\n";
    CHECK(board.poll().empty());
    std::filesystem::remove(log);
    CHECK(board.poll().empty());
}

TEST_CASE(
    "receipts: per-rack imaging sends a rack's host to its rack server, whose delivery the owner "
    "takes in") {
    namespace ip = boost::asio::ip;
    boost::asio::io_context ioc;
    ip::tcp::acceptor listening(ioc, {ip::make_address("127.0.0.1"), 0});
    const int port = listening.local_endpoint().port();
    ReceiptRig rig([&](ServerConfig& c) { c.delta_port = port; });
    const Host h1 = rig.host("h1");  // rack r1
    auto image = add_test_image(*rig.server.store, "1", kSha);
    auto d = rig.orchestrator.deploy(image, {h1}, Transport::delta);
    REQUIRE(d.is_ok());
    rig.orchestrator.tick();
    const std::string id = receiver_id_of(d->id, h1.id);
    // Rack r1's live server B serves its copy of the image (rack_images.h).
    const imaging::Secret master = *imaging::random_secret();
    PeerSource b{"pvB", "10.0.0.15:24000", "peers", imaging::receiver_key(master, "peers"), master};
    rig.orchestrator.set_rack_sources({{"r2", {{image.id, b}}}});
    CHECK(rig.orchestrator.hello(h1, {}).body["job"]["delta"]["from"] != "10.0.0.15:24000");
    rig.orchestrator.set_rack_sources({{"r1", {{image.id, b}}}});
    auto job = rig.orchestrator.hello(h1, {}).body;
    REQUIRE(job["action"] == "image");
    CHECK(job["job"]["delta"]["from"] == "10.0.0.15:24000");
    CHECK(job["job"]["receiver_id"] == id);
    CHECK(job["job"]["secret"] == imaging::secret_to_hex(imaging::receiver_key(master, id)));
    // Asking again means the transfer from B broke off (B died): this server sends the rest.
    auto again = rig.orchestrator.hello(h1, {}).body;
    CHECK(again["job"]["delta"]["from"] != "10.0.0.15:24000");
    CHECK(again["job"]["secret"] != job["job"]["secret"]);

    CHECK(rig.orchestrator.result(h1, d->id, true, "", kOk)->held);
    // Another image's delivery counts for nothing; B's, published through the store, does.
    rig.orchestrator.absorb_peer_deliveries(
        {{id, "delta", std::string(64, 'e'), "10.0.0.11:5000", 4, 4, 9000}});
    CHECK(rig.state_of(h1) == HostState::imaging);
    rig.orchestrator.absorb_peer_deliveries({{id, "delta", kSha, "10.0.0.11:5000", 4, 4, 9000}});
    CHECK(rig.state_of(h1) == HostState::imaged);
    CHECK_FALSE(rig.orchestrator.foreign_deliveries({d->id}));  // none of its own to pass on
}

TEST_CASE(
    "receipts: a rack server passes on, once, what its delta server delivered for another server") {
    ReceiptRig rig;
    std::filesystem::create_directories(rig.server.config.state_dir / "deliveries");
    imaging::Delivery other{"41/7", "delta", kSha, "10.0.0.17:5000", 4, 4, 9000};
    std::ofstream(rig.server.config.state_dir / "deliveries" / "delta-image-1-1.log", std::ios::app)
        << imaging::encode_delivery(other) << "\n";
    rig.orchestrator.tick();
    auto passed = rig.orchestrator.foreign_deliveries({41});
    REQUIRE(passed);
    REQUIRE(passed->size() == 1);
    CHECK(passed->at(0).receiver == "41/7");
    CHECK_FALSE(rig.orchestrator.foreign_deliveries({41}));  // until something changes
    // A peer's delivery for a deployment this server does not own is not passed on again.
    rig.orchestrator.absorb_peer_deliveries(
        {{"42/8", "delta", kSha, "10.0.0.18:5000", 4, 4, 9000}});
    rig.orchestrator.tick();
    CHECK_FALSE(rig.orchestrator.foreign_deliveries({41, 42}));
    // Deployment 41 ended (its lease is gone): forgotten, and the store's copy emptied.
    passed = rig.orchestrator.foreign_deliveries({});
    REQUIRE(passed);
    CHECK(passed->empty());
    CHECK_FALSE(rig.orchestrator.foreign_deliveries({}));
}

TEST_CASE(
    "receipts: multicast in the rack: a rack's hosts join its server's session, whose receipts the "
    "owner takes in") {
    ReceiptRig rig;
    const Host h1 = rig.host("h1");  // rack r1
    auto r2 = [&](const std::string& name, int n) {
        auto h = rig.server.store->add_host(
            {*Mac::parse("52:54:00:00:02:0" + std::to_string(n)), name, "", "r2"},
            HostState::enrolled, "test");
        REQUIRE(h);
        return *h;
    };
    const Host h2 = r2("h2", 2), h3 = r2("h3", 3), h4 = r2("h4", 4);
    auto image = add_test_image(*rig.server.store, "1", kSha);
    auto d = rig.orchestrator.deploy(image, {h1, h2, h3, h4}, Transport::multicast);
    REQUIRE(d.is_ok());
    // Rack r2's live server B multicasts its copy of the image for this deployment.
    MulticastSource b;
    b.server = "pvB";
    b.group = "239.255.42.9";
    b.port = 7788;
    b.secret = *imaging::random_secret();
    b.receipt_master = *imaging::random_secret();
    rig.orchestrator.set_rack_multicast_sources({{"r2", {{d->id, b}}}}, {"r2"});
    rig.orchestrator.tick();
    // The owner runs a delta server of the image for B to fetch it from, and no sender of its
    // own until a host needs it.
    auto spawned = [&](const std::string& verb) {
        return std::count_if(rig.launcher.spawned.begin(), rig.launcher.spawned.end(),
                             [&](const auto& argv) { return argv.size() > 1 && argv[1] == verb; });
    };
    CHECK(spawned("serve") == 1);
    CHECK(spawned("send") == 0);
    CHECK(rig.orchestrator.image_sources().size() == 0);  // not probed as listening here

    const std::string id2 = receiver_id_of(d->id, h2.id);
    auto job = rig.orchestrator.hello(h2, {}).body;
    REQUIRE(job["action"] == "image");
    CHECK(job["job"]["multicast"]["group"] == b.group);
    CHECK(job["job"]["multicast"]["port"] == 7788);
    CHECK(job["job"]["secret"] == imaging::secret_to_hex(b.secret));
    CHECK(job["job"]["receiver_id"] == id2);
    CHECK(job["job"]["receipt_key"] ==
          imaging::secret_to_hex(imaging::receiver_key(b.receipt_master, id2)));
    CHECK(rig.orchestrator.hello(h4, {}).body["job"]["multicast"]["group"] == b.group);
    // h1 (rack r1) needs this server's own session: wait while it starts, for h1 alone (h3
    // goes to B's).
    CHECK(rig.orchestrator.hello(h1, {}).body["action"] == "wait");
    rig.orchestrator.tick();
    REQUIRE(spawned("send") == 1);
    const auto& send = *std::find_if(rig.launcher.spawned.begin(), rig.launcher.spawned.end(),
                                     [](const auto& argv) { return argv[1] == "send"; });
    CHECK(std::find(send.begin(), send.end(), "--min-receivers")[1] == "1");
    auto own = rig.orchestrator.hello(h1, {}).body;
    REQUIRE(own["action"] == "image");
    CHECK(own["job"]["multicast"]["group"] != b.group);
    // h3 goes to B's session; asking again, it broke off (B died): this server's.
    CHECK(rig.orchestrator.hello(h3, {}).body["job"]["multicast"]["group"] == b.group);
    CHECK(rig.orchestrator.hello(h3, {}).body["job"]["multicast"]["group"] ==
          own["job"]["multicast"]["group"]);

    // h2's ok result is held until B's receipt comes through the store.
    CHECK(rig.orchestrator.result(h2, d->id, true, "", kOk)->held);
    rig.orchestrator.absorb_peer_deliveries({{id2, "multicast", kSha, "10.0.0.12:7788", 0, 4, 0}},
                                            "pvB");
    CHECK(rig.state_of(h2) == HostState::imaged);
    CHECK(
        rig.event_says("delivery confirmed by the multicast sender of rack server pvB (receipt "
                       "from 10.0.0.12:7788)"));

    // h1 done and h3 failed: this server's sender has nobody left and stops. h4, back from
    // B's session (B died), starts it again, for itself alone.
    const std::size_t first_send =
        std::size_t(std::find_if(rig.launcher.spawned.begin(), rig.launcher.spawned.end(),
                                 [](const auto& argv) { return argv[1] == "send"; }) -
                    rig.launcher.spawned.begin());
    rig.sender_confirms(receiver_id_of(d->id, h1.id), kSha, first_send);
    CHECK_FALSE(rig.orchestrator.result(h1, d->id, true, "", kOk)->held);
    REQUIRE(rig.orchestrator.result(h3, d->id, false, "disk error", json::object()));
    rig.orchestrator.tick();
    CHECK(rig.orchestrator.hello(h4, {}).body["action"] == "wait");
    rig.orchestrator.tick();
    REQUIRE(spawned("send") == 2);
    CHECK(rig.option("--min-receivers", rig.launcher.spawned.size() - 1) == "1");
    CHECK(rig.orchestrator.hello(h4, {}).body["job"]["multicast"]["group"] ==
          own["job"]["multicast"]["group"]);
}

TEST_CASE(
    "receipts: a rack server's multicast sender of its copy, for another server's deployment") {
    ReceiptRig rig;
    auto image = add_test_image(*rig.server.store, "1", kSha);
    rig.orchestrator.set_rack_multicast({{41, image, {7, 8}}});
    CHECK(rig.orchestrator.rack_multicast_sessions().empty());  // not running yet
    rig.orchestrator.tick();
    REQUIRE(rig.launcher.spawned.size() == 1);
    CHECK(rig.launcher.spawned[0][1] == "send");
    CHECK(rig.option("--image") == image.path);
    CHECK(rig.option("--min-receivers") == "2");
    auto sessions = rig.orchestrator.rack_multicast_sessions();
    REQUIRE(sessions.size() == 1);
    const MulticastSource& m = sessions.at(41);
    CHECK(m.group == rig.option("--group"));
    CHECK(std::to_string(m.port) == rig.option("--port"));
    CHECK(m.secret == *imaging::read_secret_file(rig.option("--secret-file")));
    CHECK(m.receipt_master == *imaging::read_secret_file(rig.option("--receipt-secret-file")));
    // Its receipts are passed on to the owner as a delta server's are.
    rig.sender_confirms("41/7");
    rig.orchestrator.tick();
    auto passed = rig.orchestrator.foreign_deliveries({41});
    REQUIRE(passed);
    REQUIRE(passed->size() == 1);
    CHECK(passed->at(0).receiver == "41/7");
    CHECK(rig.orchestrator.rack_multicast_sessions().size() == 1);  // 41/8 waits
    // Both confirmed: its session over, it is not started again for nobody, nor published.
    rig.sender_confirms("41/8");
    rig.orchestrator.tick();
    rig.orchestrator.tick();
    CHECK(rig.orchestrator.rack_multicast_sessions().empty());
    CHECK(rig.launcher.spawned.size() == 1);
    // No longer named: stopped, its secrets removed.
    const std::string secret_file = rig.option("--secret-file");
    rig.orchestrator.set_rack_multicast({});
    CHECK(rig.orchestrator.rack_multicast_sessions().empty());
    for (int i = 0; i < 3; ++i) rig.orchestrator.tick();
    CHECK(rig.logged("stopping the rack multicast sender of deployment 41"));
    CHECK_FALSE(std::filesystem::exists(secret_file));
}

TEST_CASE(
    "receipts: the owner serves a multicast deployment's image by delta while another rack's "
    "server may fetch it") {
    ReceiptRig rig;
    const Host h1 = rig.host("h1");  // rack r1
    auto h2 = rig.server.store->add_host({*Mac::parse("52:54:00:00:02:02"), "h2", "", "r2"},
                                         HostState::enrolled, "test");
    REQUIRE(h2);
    auto image = add_test_image(*rig.server.store, "1", kSha);
    auto d = rig.orchestrator.deploy(image, {h1, *h2}, Transport::multicast);
    REQUIRE(d.is_ok());
    auto index_of = [&](const std::string& verb) {
        auto it = std::find_if(rig.launcher.spawned.begin(), rig.launcher.spawned.end(),
                               [&](const auto& argv) { return argv[1] == verb; });
        return it == rig.launcher.spawned.end() ? -1 : int(it - rig.launcher.spawned.begin());
    };
    // No other server serves a rack: as one server alone, its sender at once and no delta server.
    rig.orchestrator.tick();
    CHECK(index_of("send") >= 0);
    CHECK(index_of("serve") < 0);
    // Rack r2's live server is another: it may fetch the image, so a delta server serves it.
    rig.orchestrator.set_rack_multicast_sources({}, {"r2"});
    rig.orchestrator.tick();
    const int serve = index_of("serve");
    REQUIRE(serve >= 0);
    CHECK(rig.option("--image", std::size_t(serve)) == image.path);
    const int pid = 1000 + serve;  // FakeLauncher's pids, in spawn order
    CHECK_FALSE(rig.launcher.signalled.contains(pid));
    // h2 is over: no host of r2 needs the image any more, and the delta server stops.
    REQUIRE(rig.orchestrator.fail_host(h2->id, d->id, "no power"));
    rig.orchestrator.tick();
    CHECK(rig.launcher.signalled.contains(pid));

    // A BitTorrent deployment's image too.
    auto h3 = rig.server.store->add_host({*Mac::parse("52:54:00:00:02:03"), "h3", "", "r2"},
                                         HostState::enrolled, "test");
    REQUIRE(h3);
    auto other = add_test_image(*rig.server.store, "2", kSha);
    REQUIRE(rig.orchestrator.deploy(other, {*h3}, Transport::torrent).is_ok());
    rig.orchestrator.set_rack_multicast_sources({}, {"r2"});
    rig.orchestrator.tick();
    CHECK(std::any_of(rig.launcher.spawned.begin(), rig.launcher.spawned.end(), [&](const auto& a) {
        return a[1] == "serve" && std::find(a.begin(), a.end(), other.path) != a.end();
    }));
}
