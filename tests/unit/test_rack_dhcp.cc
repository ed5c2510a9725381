// Rack servers' DHCP (rack_dhcp.h) on a fake clock: each rack's DHCP answered by one server at
// a time; a standby takes a rack over once its server's presence lease expired, and hands it
// back when a server of that rack is present again. DhcpService with --rack writes entries only
// for the hosts of the racks it serves, and SIGHUPs dnsmasq when one went.
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>

#include "base/clock.h"
#include "pxe/boot_files.h"
#include "pxe/dnsmasq_config.h"
#include "rack_dhcp.h"
#include "test_server_fixture.h"

using namespace servertest;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

std::set<std::string> racks(std::initializer_list<const char*> names) {
    return {names.begin(), names.end()};
}

}  // namespace

TEST_CASE("rack dhcp: one server per rack; the standby takes a dead rack over and hands it back") {
    auto opened = open_sqlite_store(":memory:");
    REQUIRE(opened.is_ok());
    Store& store = **opened;
    base::FakeClock clock;
    LeaseKeeper keeper_a(store, clock, "A", seconds(9));
    LeaseKeeper keeper_b(store, clock, "B", seconds(9));
    RackDhcp a(store, keeper_a, clock, "r1", {"r2"});
    RackDhcp b(store, keeper_b, clock, "r2", {"r1"});

    // A starts alone: r2 has no server yet, so A answers it too.
    auto first_a = a.tick();
    REQUIRE(first_a.is_ok());
    REQUIRE(first_a->size() == 2);
    CHECK(first_a->at(0).rack == "r1");
    CHECK(first_a->at(1).rack == "r2");
    CHECK(first_a->at(1).serving);
    CHECK(a.served() == racks({"r1", "r2"}));
    // B starts: present, it waits for r2 while A holds it; A hands it back at its next tick.
    CHECK(b.tick()->empty());
    CHECK(b.served().empty());
    auto handed_r2 = a.tick();
    REQUIRE(handed_r2.is_ok());
    REQUIRE(handed_r2->size() == 1);
    CHECK(handed_r2->at(0).rack == "r2");
    CHECK_FALSE(handed_r2->at(0).serving);
    REQUIRE(b.tick()->size() == 1);
    CHECK(a.served() == racks({"r1"}));
    CHECK(b.served() == racks({"r2"}));  // r1's server is present: B leaves r1 alone
    CHECK(a.tick()->empty());            // nothing changed
    CHECK(b.tick()->empty());

    // A dies: B keeps ticking; r1 is B's once A's presence expired, not a moment before.
    for (int s = 1; s < 9; ++s) {
        clock.advance(seconds(1));
        auto changes = b.tick();
        REQUIRE(changes.is_ok());
        CHECK(changes->empty());
    }
    clock.advance(milliseconds(999));
    CHECK(b.tick()->empty());
    CHECK(b.served() == racks({"r2"}));
    clock.advance(milliseconds(1));
    auto taken = b.tick();
    REQUIRE(taken.is_ok());
    REQUIRE(taken->size() == 1);
    CHECK(taken->at(0).rack == "r1");
    CHECK(taken->at(0).serving);
    CHECK(taken->at(0).taken_from == "A");
    CHECK(b.served() == racks({"r1", "r2"}));

    // A restarts (a new server id): present again, it waits while B holds r1's DHCP ...
    LeaseKeeper keeper_a2(store, clock, "A2", seconds(9));
    RackDhcp a2(store, keeper_a2, clock, "r1", {"r2"});
    CHECK(a2.tick()->empty());
    CHECK(a2.served().empty());
    // ... B hands it back at its next tick, and A2 takes it at its own.
    clock.advance(seconds(1));
    auto handed = b.tick();
    REQUIRE(handed.is_ok());
    REQUIRE(handed->size() == 1);
    CHECK(handed->at(0).rack == "r1");
    CHECK_FALSE(handed->at(0).serving);
    CHECK(b.served() == racks({"r2"}));
    auto back = a2.tick();
    REQUIRE(back.is_ok());
    REQUIRE(back->size() == 1);
    CHECK(back->at(0).serving);
    CHECK(a2.served() == racks({"r1"}));
    // B, renewing, never takes it again while A2 is present.
    for (int s = 0; s < 20; ++s) {
        clock.advance(seconds(1));
        REQUIRE(a2.tick().is_ok());
        CHECK(b.tick()->empty());
    }
    CHECK(b.served() == racks({"r2"}));

    // A clean stop gives the leases up: the standby takes over at once, not a lease later.
    a2.release_all();
    auto at_once = b.tick();
    REQUIRE(at_once.is_ok());
    REQUIRE(at_once->size() == 1);
    CHECK(at_once->at(0).taken_from == "");
    CHECK(b.served() == racks({"r1", "r2"}));
}

TEST_CASE("rack dhcp: a server without standby never answers another rack") {
    auto opened = open_sqlite_store(":memory:");
    REQUIRE(opened.is_ok());
    Store& store = **opened;
    base::FakeClock clock;
    LeaseKeeper keeper(store, clock, "C", seconds(9));
    RackDhcp c(store, keeper, clock, "r3", {});
    REQUIRE(c.tick().is_ok());
    clock.advance(seconds(60));
    REQUIRE(c.tick().is_ok());
    CHECK(c.served() == racks({"r3"}));
    auto rows = store.list_leases();
    REQUIRE(rows.is_ok());
    REQUIRE(rows->size() == 2);
    CHECK(rows->at(0).name == "dhcp:r3");
    CHECK(rows->at(1).name == "rack-server:r3");
}

TEST_CASE("rack dhcp: dnsmasq answers only the hosts of the racks served, known MACs only") {
    Server s([](ServerConfig& c) {
        c.dhcp_interface = "eth9";
        c.dhcp_address = "10.9.0.1";
        c.dhcp_range = "10.9.0.100,10.9.0.199";
        c.rack = "r1";
        c.dhcp_standby = {"r2"};
    });
    const auto ipxe = s.dir.path() / "ipxe";
    std::filesystem::create_directories(ipxe);
    for (const char* f : {pxe::kBiosBootFile, pxe::kEfiIpxeFile, pxe::kEfiSnpFile})
        std::ofstream(ipxe / f) << "boot file";
    s.config.ipxe_dir = ipxe.string();
    Host h1 = add_test_host(*s.store, "h1", 1);  // rack r1
    auto h2 = s.store->add_host({*Mac::parse("52:54:00:00:00:02"), "h2", "", "r2"},
                                HostState::enrolled, "test");
    REQUIRE(h2.is_ok());
    FakeLauncher launcher;
    base::FakeClock clock;
    auto prepared =
        DhcpService::prepare(s.config, *s.store, launcher, clock, [](const std::string&) {});
    REQUIRE_MESSAGE(prepared.is_ok(), prepared.status().message());
    DhcpService& dhcp = **prepared;
    const auto hosts_dir = s.dir.path() / "dnsmasq" / "hosts";
    auto entry = [&](const Host& h) { return hosts_dir / pxe::host_entry_file_name(h.mac); };
    std::ifstream conf(s.dir.path() / "dnsmasq" / "dnsmasq.conf");
    std::string text((std::istreambuf_iterator<char>(conf)), {});
    CHECK(text.find("dhcp-ignore=tag:!known\n") != std::string::npos);
    CHECK(text.find("dhcp-authoritative") == std::string::npos);
    CHECK_FALSE(std::filesystem::exists(entry(h1)));  // nothing until the leases say
    REQUIRE(dhcp.start().is_ok());

    LeaseKeeper keeper(*s.store, clock, "A", seconds(9));
    RackDhcp racks(*s.store, keeper, clock, "r1", {"r2"});
    LeaseKeeper other(*s.store, clock, "B", seconds(9));
    REQUIRE(other.acquire(RackDhcp::presence_lease("r2")).is_ok());  // r2's server is alive
    REQUIRE(other.acquire(RackDhcp::dhcp_lease("r2")).is_ok());
    std::vector<std::string> log;
    follow_racks(racks, dhcp, *s.store, "A", [&](const std::string& l) { log.push_back(l); });
    CHECK(std::filesystem::exists(entry(h1)));
    CHECK_FALSE(std::filesystem::exists(entry(*h2)));
    REQUIRE(log.size() == 1);
    CHECK(log[0] == "rack r1: DHCP and boot scripts served by A");

    // An enrolment in another rack writes nothing; r2's server dies: its hosts come in.
    dhcp.host_changed(*h2);
    CHECK_FALSE(std::filesystem::exists(entry(*h2)));
    clock.advance(seconds(10));
    follow_racks(racks, dhcp, *s.store, "A", [&](const std::string& l) { log.push_back(l); });
    CHECK(std::filesystem::exists(entry(*h2)));
    REQUIRE(log.size() == 2);
    CHECK(log[1] == "rack r2: DHCP and boot scripts served by A, taken over from B");

    // r2's server is back: its hosts leave this dnsmasq, which rereads its entries (SIGHUP).
    REQUIRE(other.acquire(RackDhcp::presence_lease("r2")).is_ok());
    follow_racks(racks, dhcp, *s.store, "A", [&](const std::string& l) { log.push_back(l); });
    CHECK_FALSE(std::filesystem::exists(entry(*h2)));
    CHECK(std::filesystem::exists(entry(h1)));
    CHECK(log.back() == "rack r2: DHCP and boot scripts no longer served by A");
    dhcp.tick();
    CHECK(launcher.signalled.contains(1000));
    CHECK(launcher.signalled[1000] == SIGHUP);
    dhcp.stop();
}

TEST_CASE("rack dhcp: --rack and --dhcp-standby are checked at start") {
    auto problem = [](const std::function<void(ServerConfig&)>& set) {
        ServerConfig c;
        c.listen = "127.0.0.1:8080";
        set(c);
        return finish_config(c, "/usr/bin/provisionerd");
    };
    auto with_dhcp = [](ServerConfig& c) {
        c.dhcp_interface = "eth0";
        c.dhcp_address = "10.9.0.1";
        c.dhcp_range = "10.9.0.100,10.9.0.199";
    };
    CHECK(problem([](ServerConfig& c) { c.dhcp_standby = {"r2"}; }) ==
          "--dhcp-standby needs --rack");
    CHECK(problem([](ServerConfig& c) { c.rack = "r1"; }) ==
          "--rack needs --dhcp-interface (a rack server serves its rack's DHCP)");
    CHECK(problem([&](ServerConfig& c) {
              with_dhcp(c);
              c.rack = "r1";
              c.dhcp_standby = {"r1"};
          }) == "--dhcp-standby wants another rack's name, not \"r1\"");
    CHECK(problem([&](ServerConfig& c) {
              with_dhcp(c);
              c.rack = "r1";
              c.dhcp_standby = {"r2", "r3"};
          }) == "");
}

TEST_CASE(
    "rack dhcp: iPXE scripts only for the racks served, netboot into another server's deployment") {
    Server s;
    Host h1 = add_test_host(*s.store, "h1", 1);  // rack r1
    auto h2 = s.store->add_host({*Mac::parse("52:54:00:00:00:02"), "h2", "", "r2"},
                                HostState::enrolled, "test");
    REQUIRE(h2.is_ok());
    s.ctx->serves_rack = [](const std::string& rack) { return rack == "r1"; };
    auto script = [&](const Host& h) {
        return s.call(bhttp::verb::get, "/boot/" + pxe::host_entry_file_name(h.mac) + ".ipxe");
    };
    auto other = script(*h2);
    CHECK(other.result_int() == 404);
    CHECK(other.body() == "host h2 is in rack r2, which this rack server does not serve now\n");
    auto own = script(h1);
    CHECK(own.result_int() == 200);
    CHECK(own.body().find("sanboot") != std::string::npos);  // enrolled: its local disk

    // A deployment another server drives (in the store, not this orchestrator's): h1 boots
    // into it from here, with a boot ticket.
    Image image = add_test_image(*s.store, "1");
    auto d = s.store->create_deployment(image.id, Transport::delta, {h1.id});
    REQUIRE(d.is_ok());
    REQUIRE(s.store->transition(h1.id, HostState::booting, "test").is_ok());
    CHECK_FALSE(s.orchestrator->deployment_of(h1.id).has_value());
    auto netboot = script(h1);
    CHECK(netboot.result_int() == 200);
    CHECK(netboot.body().find("provisioner.token=t" + std::to_string(h1.id) + "_" +
                              std::to_string(d->id) + "_") != std::string::npos);
    // Not a rack server: the orchestrator's own deployments only.
    s.ctx->serves_rack = {};
    CHECK(script(h1).body().find("provisioner.token=") == std::string::npos);
}
