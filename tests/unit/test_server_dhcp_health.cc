// DhcpService's part of /health: dnsmasq kept by pxe::Supervisor on a fake launcher and a fake
// clock; one that keeps dying is reported even while it happens to run.
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>

#include "base/clock.h"
#include "pxe/boot_files.h"
#include "test_server_fixture.h"

using namespace servertest;

TEST_CASE("dhcp health: dnsmasq dying again and again soon after each start is a problem") {
    Server s([](ServerConfig& c) {
        c.dhcp_interface = "eth9";
        c.dhcp_address = "10.9.0.1";
        c.proxy_dhcp = "10.9.0.0";
    });
    const auto ipxe = s.dir.path() / "ipxe";
    std::filesystem::create_directories(ipxe);
    for (const char* f : {pxe::kBiosBootFile, pxe::kEfiIpxeFile, pxe::kEfiSnpFile})
        std::ofstream(ipxe / f) << "boot file";
    s.config.ipxe_dir = ipxe.string();
    FakeLauncher launcher;
    base::FakeClock clock;
    auto prepared =
        DhcpService::prepare(s.config, *s.store, launcher, clock, [](const std::string&) {});
    REQUIRE_MESSAGE(prepared.is_ok(), prepared.status().message());
    DhcpService& dhcp = **prepared;
    REQUIRE(dhcp.start().is_ok());
    dhcp.tick();
    CHECK(dhcp.problem() == "");

    int pid = 1000;
    for (int death = 1; death <= DhcpService::kDeathsUnhealthy; ++death) {
        launcher.signalled[pid++] = SIGSEGV;  // dies a second after its start
        clock.advance(std::chrono::seconds(1));
        dhcp.tick();
        if (death < DhcpService::kDeathsUnhealthy)
            CHECK(dhcp.problem() == "dnsmasq is not running (restarted " +
                                        std::to_string(death - 1) + " times; see the events)");
        clock.advance(std::chrono::seconds(30));  // past its backoff
        dhcp.tick();
    }
    REQUIRE(launcher.spawned.size() == 4);
    CHECK(dhcp.problem() ==
          "dnsmasq keeps dying: killed by signal 11 (SIGSEGV) (3 times in a "
          "row) (restarted 3 times; see the events)");
    clock.advance(std::chrono::seconds(10));  // the fourth runs long enough to be healthy
    dhcp.tick();
    CHECK(dhcp.problem() == "");
    dhcp.stop();
}
