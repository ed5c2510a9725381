// provisioner-agent: the kernel command line and the host's network identity.
#include <arpa/inet.h>
#include <doctest/doctest.h>

#include "provisioner/agent/cmdline.h"
#include "provisioner/agent/network.h"
#include "test_util.h"

using namespace provisioner::agent;

namespace {

using testutil::write_text;

std::uint32_t ip(const char* text) {
    in_addr a{};
    REQUIRE(::inet_pton(AF_INET, text, &a) == 1);
    return ntohl(a.s_addr);
}

}  // namespace

TEST_CASE("agent: cmdline as iPXE renders it") {
    // The line pxe/ipxe_script.cc renders, after the kernel added BOOT_IMAGE.
    auto p = parse_kernel_cmdline(
        "BOOT_IMAGE=vmlinuz initrd=initrd.img provisioner.server=http://10.77.0.1:8080 "
        "provisioner.mode=image provisioner.mac=52:54:00:00:00:01 provisioner.token=a-b.c_d~e "
        "console=ttyS0,115200 quiet\n");
    CHECK(p[kCmdlineServer] == "http://10.77.0.1:8080");
    CHECK(p[kCmdlineMode] == "image");
    CHECK(p[kCmdlineMac] == "52:54:00:00:00:01");
    CHECK(p[kCmdlineToken] == "a-b.c_d~e");
    CHECK(p["console"] == "ttyS0,115200");
    CHECK(p.count("quiet") == 1);
    CHECK(p["quiet"] == "");
    CHECK(p.count("provisioner.disk") == 0);
}

TEST_CASE("agent: cmdline quotes, repeated keys and odd spacing") {
    auto p = parse_kernel_cmdline(
        "  a=1\tprovisioner.token=first  b=\"two words\" \"c=quoted whole\" a=2 "
        "provisioner.token=last d=x=y e= ");
    CHECK(p["a"] == "2");
    CHECK(p["provisioner.token"] == "last");
    CHECK(p["b"] == "two words");
    CHECK(p["c"] == "quoted whole");
    CHECK(p["d"] == "x=y");
    CHECK(p.count("e") == 1);
    CHECK(p["e"] == "");
    CHECK(parse_kernel_cmdline("").empty());
    CHECK(parse_kernel_cmdline("  \n").empty());
}

TEST_CASE("agent: cmdline read from a file, and a missing file is an error") {
    testutil::TempDir dir;
    write_text(dir / "cmdline", "provisioner.server=http://s:1 provisioner.mode=discover\n");
    auto p = read_kernel_cmdline(dir / "cmdline");
    REQUIRE(p);
    CHECK(p->at(kCmdlineMode) == "discover");
    CHECK_FALSE(read_kernel_cmdline(dir / "nope"));
}

TEST_CASE("agent: MAC normalization") {
    CHECK(normalize_mac("52:54:00:AB:cd:EF") == "52:54:00:ab:cd:ef");
    CHECK(normalize_mac("52-54-00-ab-cd-ef") == "52:54:00:ab:cd:ef");
    CHECK(normalize_mac("52:54:00:ab:cd") == "");
    CHECK(normalize_mac("52:54:00:ab:cd:ef:00") == "");
    CHECK(normalize_mac("525400abcdef") == "");
    CHECK(normalize_mac("52:54:00:ab:cd:eg") == "");
    CHECK(normalize_mac("") == "");
}

TEST_CASE("agent: the interface towards the server from /proc/net/route") {
    testutil::TempDir root;
    // Default route via eth0, 10.77.0.0/24 on eth1, a down route on eth2 for 10.77.0.0/25,
    // and 192.168.1.0/24 on eth3 twice with different metrics. Addresses as the kernel prints
    // them on a little-endian host: the network-order bytes read as a native integer.
    auto hex = [](const char* text) {
        in_addr a{};
        REQUIRE(::inet_pton(AF_INET, text, &a) == 1);
        char buf[16];
        std::snprintf(buf, sizeof buf, "%08X", a.s_addr);
        return std::string(buf);
    };
    std::string table =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";
    auto row = [&](const char* iface, const char* dest, const char* flags, int metric,
                   const char* mask) {
        table += std::string(iface) + "\t" + hex(dest) + "\t00000000\t" + flags + "\t0\t0\t" +
                 std::to_string(metric) + "\t" + hex(mask) + "\t0\t0\t0\n";
    };
    row("eth0", "0.0.0.0", "0003", 100, "0.0.0.0");
    row("eth1", "10.77.0.0", "0001", 0, "255.255.255.0");
    row("eth2", "10.77.0.0", "0000", 0, "255.255.255.128");
    row("eth3", "192.168.1.0", "0001", 50, "255.255.255.0");
    row("eth4", "192.168.1.0", "0001", 10, "255.255.255.0");
    write_text(root / "proc/net/route", table);
    CHECK(*route_interface(root.path(), ip("10.77.0.1")) == "eth1");
    CHECK(*route_interface(root.path(), ip("8.8.8.8")) == "eth0");
    CHECK(*route_interface(root.path(), ip("192.168.1.7")) == "eth4");

    write_text(root / "sys/class/net/eth1/address", "52:54:00:AA:BB:01\n");
    write_text(root / "sys/class/net/eth4/address", "52:54:00:aa:bb:04\n");
    CHECK(*interface_mac(root.path(), "eth1") == "52:54:00:aa:bb:01");
    CHECK_FALSE(interface_mac(root.path(), "eth9"));
    CHECK(*interface_with_mac(root.path(), "52:54:00:aa:bb:04") == "eth4");
    CHECK_FALSE(interface_with_mac(root.path(), "52:54:00:aa:bb:99"));

    write_text(root / "proc/net/route", "Iface\tDestination\n");
    CHECK_FALSE(route_interface(root.path(), ip("10.77.0.1")));
}

TEST_CASE("agent: server URL to an IPv4 address") {
    auto a = server_ipv4("http://10.77.0.1:8080");
    REQUIRE(a);
    CHECK(*a == ip("10.77.0.1"));
    auto local = server_ipv4("http://localhost:8080/");
    REQUIRE(local);
    CHECK(*local == ip("127.0.0.1"));
    auto secure = server_ipv4("https://10.77.0.1");  // the API over TLS: the same address
    REQUIRE(secure);
    CHECK(*secure == ip("10.77.0.1"));
    CHECK_FALSE(server_ipv4("ftp://10.77.0.1"));
    CHECK_FALSE(server_ipv4("10.77.0.1:8080"));
}
