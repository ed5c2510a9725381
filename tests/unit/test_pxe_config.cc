// pxe: dnsmasq.conf and dhcp-host rendering, on the exact text.
#include <doctest/doctest.h>

#include "pxe/dnsmasq_config.h"
#include "pxe/ipxe_script.h"

using namespace pxe;

namespace {

base::Mac mac(const char* text) {
    auto m = base::Mac::parse(text);
    REQUIRE_MESSAGE(m, m.status().message());
    return *m;
}

DnsmasqConfig full_config() {
    DnsmasqConfig c;
    c.interface = "eth0";
    c.listen_address = "10.77.0.1";
    c.mode = FullRange{"10.77.0.100", "10.77.0.199", "255.255.255.0", "1h"};
    c.tftp_root = "/var/lib/provisioner/tftp";
    c.hosts_dir = "/var/lib/provisioner/hosts";
    c.http_base_url = "http://10.77.0.1:8080";
    c.pid_file = "/run/provisioner/dnsmasq.pid";
    c.lease_file = "/var/lib/provisioner/dnsmasq.leases";
    return c;
}

}  // namespace

TEST_CASE("pxe: MAC addresses parse in both separators and print normalized") {
    CHECK(mac("52:54:00:AB:cd:01").str() == "52:54:00:ab:cd:01");
    CHECK(mac("52-54-00-ab-CD-01").hyphen() == "52-54-00-ab-cd-01");
    CHECK(mac("52:54:00:ab:cd:01") == mac("52-54-00-AB-CD-01"));
    for (const char* bad : {"", "52:54:00:ab:cd", "52:54:00:ab:cd:0g", "52:54-00:ab:cd:01",
                            "52:54:00:ab:cd:01:", "5254.00ab.cd01.."}) {
        auto m = base::Mac::parse(bad);
        CHECK_FALSE(m);
    }
    CHECK(base::Mac::parse("zz").status().message() ==
          "bad MAC \"zz\": expected six hex pairs as aa:bb:cc:dd:ee:ff");
}

TEST_CASE("pxe: dnsmasq.conf for a full DHCP range") {
    auto conf = render_dnsmasq_conf(full_config());
    REQUIRE_MESSAGE(conf, conf.status().message());
    CHECK(*conf ==
          "# dnsmasq.conf written by provisionerd; rewritten on every start, do not edit.\n"
          "# DHCP and TFTP only: port=0 turns DNS off, so nothing reads resolv.conf or hosts.\n"
          "port=0\n"
          "no-resolv\n"
          "no-hosts\n"
          "interface=eth0\n"
          "bind-interfaces\n"
          "listen-address=10.77.0.1\n"
          "pid-file=/run/provisioner/dnsmasq.pid\n"
          "log-facility=-\n"
          "log-dhcp\n"
          "# Full DHCP: this server owns the provisioning network's addresses.\n"
          "dhcp-range=10.77.0.100,10.77.0.199,255.255.255.0,1h\n"
          "dhcp-authoritative\n"
          "dhcp-leasefile=/var/lib/provisioner/dnsmasq.leases\n"
          "# Enrolled hosts: one dhcp-host file each, read when it appears (inotify), no restart.\n"
          "dhcp-hostsdir=/var/lib/provisioner/hosts\n"
          "enable-tftp\n"
          "tftp-root=/var/lib/provisioner/tftp\n"
          "# Client architecture, DHCP option 93 (RFC 4578): 0 BIOS; 7 and 9 UEFI x64 (7 is\n"
          "# \"EFI BC\", which x64 firmware sends in practice). iPXE announces itself with user\n"
          "# class \"iPXE\" (option 77): it gets its script by HTTP instead of iPXE again, which\n"
          "# would loop.\n"
          "dhcp-match=set:bios,option:client-arch,0\n"
          "dhcp-match=set:efi64,option:client-arch,7\n"
          "dhcp-match=set:efi64,option:client-arch,9\n"
          "dhcp-userclass=set:ipxe,iPXE\n"
          "dhcp-boot=tag:!ipxe,tag:bios,undionly.kpxe\n"
          "dhcp-boot=tag:!ipxe,tag:efi64,snponly.efi\n"
          "dhcp-boot=tag:ipxe,http://10.77.0.1:8080/boot/${mac:hexhyp}.ipxe\n");
}

TEST_CASE("pxe: dnsmasq.conf for proxy-DHCP beside another DHCP server") {
    DnsmasqConfig c = full_config();
    c.mode = ProxyDhcp{"10.77.0.0", "255.255.255.0"};
    c.listen_address.clear();
    c.pid_file.clear();
    c.log_file = "/var/log/provisioner/dnsmasq.log";
    c.log_dhcp = false;
    c.user = "dnsmasq";
    c.uefi_boot_file = UefiBootFile::kIpxe;
    auto conf = render_dnsmasq_conf(c);
    REQUIRE_MESSAGE(conf, conf.status().message());
    CHECK(*conf ==
          "# dnsmasq.conf written by provisionerd; rewritten on every start, do not edit.\n"
          "# DHCP and TFTP only: port=0 turns DNS off, so nothing reads resolv.conf or hosts.\n"
          "port=0\n"
          "no-resolv\n"
          "no-hosts\n"
          "interface=eth0\n"
          "bind-interfaces\n"
          "pid-file\n"
          "user=dnsmasq\n"
          "log-facility=/var/log/provisioner/dnsmasq.log\n"
          "# Proxy-DHCP: another server hands out addresses; this one adds boot information.\n"
          "dhcp-range=10.77.0.0,proxy,255.255.255.0\n"
          "# Enrolled hosts: one dhcp-host file each, read when it appears (inotify), no restart.\n"
          "dhcp-hostsdir=/var/lib/provisioner/hosts\n"
          "enable-tftp\n"
          "tftp-root=/var/lib/provisioner/tftp\n"
          "# Client architecture, DHCP option 93 (RFC 4578): 0 BIOS; 7 and 9 UEFI x64 (7 is\n"
          "# \"EFI BC\", which x64 firmware sends in practice). iPXE announces itself with user\n"
          "# class \"iPXE\" (option 77): it gets its script by HTTP instead of iPXE again, which\n"
          "# would loop.\n"
          "dhcp-match=set:bios,option:client-arch,0\n"
          "dhcp-match=set:efi64,option:client-arch,7\n"
          "dhcp-match=set:efi64,option:client-arch,9\n"
          "dhcp-userclass=set:ipxe,iPXE\n"
          "pxe-service=tag:!ipxe,x86PC,\"provisioner BIOS\",undionly.kpxe\n"
          "pxe-service=tag:!ipxe,BC_EFI,\"provisioner UEFI\",ipxe.efi\n"
          "pxe-service=tag:!ipxe,x86-64_EFI,\"provisioner UEFI\",ipxe.efi\n"
          "dhcp-boot=tag:ipxe,http://10.77.0.1:8080/boot/${mac:hexhyp}.ipxe\n");
}

TEST_CASE("pxe: bad config fields are refused with the field named") {
    auto message = [](DnsmasqConfig c) {
        auto conf = render_dnsmasq_conf(c);
        REQUIRE_FALSE(conf);
        return conf.status().message();
    };
    DnsmasqConfig c = full_config();
    c.interface = "eth0\ndhcp-script=/bin/sh";
    CHECK(message(c) ==
          "dnsmasq config: interface \"eth0\ndhcp-script=/bin/sh\": want letters, digits, "
          "-._/:+@");
    c = full_config();
    c.tftp_root = "tftp";
    CHECK(message(c) == "dnsmasq config: tftp root \"tftp\": want an absolute path");
    c = full_config();
    c.http_base_url = "10.77.0.1:8080";
    CHECK(message(c) ==
          "dnsmasq config: HTTP base URL \"10.77.0.1:8080\": want an http:// or https:// URL");
    c = full_config();
    c.http_base_url = "http://10.77.0.1:8080/";
    CHECK(message(c) ==
          "dnsmasq config: HTTP base URL \"http://10.77.0.1:8080/\": drop the trailing '/'");
    c = full_config();
    c.mode = FullRange{"10.77.0.100", "10.77.0.300"};
    CHECK(message(c) == "dnsmasq config: range end \"10.77.0.300\": not an IPv4 address");
    c = full_config();
    c.lease_file.clear();
    CHECK(message(c) == "dnsmasq config: lease file \"\": want an absolute path");
    c = full_config();
    c.mode = ProxyDhcp{"10.77.0"};
    CHECK(message(c) == "dnsmasq config: proxy subnet \"10.77.0\": not an IPv4 address");
    c = full_config();
    c.listen_address = "::1";
    CHECK(message(c) == "dnsmasq config: listen address \"::1\": not an IPv4 address");
}

TEST_CASE("pxe: one dhcp-host line per host, in a file named after the MAC") {
    auto line = render_host_entry({mac("52:54:00:12:34:56"), "10.77.0.11", "h1"});
    REQUIRE(line);
    CHECK(*line == "52:54:00:12:34:56,10.77.0.11,h1\n");
    CHECK(*render_host_entry({mac("52:54:00:12:34:56"), "", "rack1-h2"}) ==
          "52:54:00:12:34:56,rack1-h2\n");
    CHECK(*render_host_entry({mac("52:54:00:12:34:56"), "10.77.0.12", ""}) ==
          "52:54:00:12:34:56,10.77.0.12\n");
    CHECK(host_entry_file_name(mac("52:54:00:12:34:56")) == "52-54-00-12-34-56");

    auto bad_ip = render_host_entry({mac("52:54:00:12:34:56"), "10.77.0.1,ignore", "h1"});
    CHECK(bad_ip.status().message() == "host IP \"10.77.0.1,ignore\": not an IPv4 address");
    auto bad_name = render_host_entry({mac("52:54:00:12:34:56"), "", "h_1"});
    CHECK(bad_name.status().message() ==
          "host name \"h_1\": want letters, digits and '-' (1 to 63, RFC 1123)");
    CHECK_FALSE(render_host_entry({mac("52:54:00:12:34:56"), "", "-h1"}));
    CHECK_FALSE(render_host_entry({mac("52:54:00:12:34:56"), "", std::string(64, 'a')}));
}

TEST_CASE("pxe: dnsmasq runs in the foreground on the rendered file only") {
    CHECK(dnsmasq_argv("/usr/sbin/dnsmasq", "/var/lib/provisioner/dnsmasq.conf") ==
          std::vector<std::string>{"/usr/sbin/dnsmasq", "--keep-in-foreground",
                                   "--conf-file=/var/lib/provisioner/dnsmasq.conf"});
}
