// pxe: the per-MAC iPXE scripts and their URLs, on the exact text.
#include <doctest/doctest.h>

#include "pxe/ipxe_script.h"

using namespace pxe;

namespace {

base::Mac mac(const char* text) {
    return *base::Mac::parse(text);
}

NetbootParams params() {
    return {"http://10.77.0.1:8080", "http://10.77.0.1:8080/netboot/vmlinuz",
            "http://10.77.0.1:8080/netboot/initrd.img", "console=ttyS0,115200"};
}

}  // namespace

TEST_CASE("pxe: script paths round-trip and match what dnsmasq tells iPXE") {
    CHECK(ipxe_script_path(mac("52:54:00:AB:CD:01")) == "/boot/52-54-00-ab-cd-01.ipxe");
    CHECK(ipxe_script_url_template("http://10.77.0.1:8080") ==
          "http://10.77.0.1:8080/boot/${mac:hexhyp}.ipxe");
    auto back = parse_ipxe_script_path("/boot/52-54-00-ab-cd-01.ipxe");
    REQUIRE(back);
    CHECK(*back == mac("52:54:00:ab:cd:01"));
    for (const char* bad : {"/boot/52:54:00:ab:cd:01.ipxe", "/boot/52-54-00-ab-cd.ipxe",
                            "/boot/52-54-00-ab-cd-01.ipx", "/boot/../etc/passwd.ipxe",
                            "/api/v1/hosts", "/boot/.ipxe", "boot/52-54-00-ab-cd-01.ipxe",
                            "/boot/01-00-5e-00-00-01.ipxe", "/boot/00-00-00-00-00-00.ipxe"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_ipxe_script_path(bad));
    }
}

TEST_CASE("pxe: an enrolled host netboots the agent with its token") {
    auto script = render_netboot_script(params(), {mac("52:54:00:12:34:56"), "h1", "tok-3f9a.Z_~"});
    REQUIRE_MESSAGE(script, script.status().message());
    CHECK(*script ==
          "#!ipxe\n"
          "# provisioner: h1 (52:54:00:12:34:56) netboots the imaging agent\n"
          "kernel http://10.77.0.1:8080/netboot/vmlinuz initrd=initrd.img "
          "provisioner.server=http://10.77.0.1:8080 provisioner.mode=image "
          "provisioner.mac=52:54:00:12:34:56 provisioner.token=tok-3f9a.Z_~ "
          "console=ttyS0,115200 || goto failed\n"
          "initrd --name initrd.img http://10.77.0.1:8080/netboot/initrd.img || goto failed\n"
          "boot || goto failed\n"
          ":failed\n"
          "echo provisioner: netboot failed, rebooting in 10 seconds\n"
          "sleep 10\n"
          "reboot\n");
}

TEST_CASE("pxe: an unknown MAC boots the agent in discovery mode") {
    NetbootParams p = params();
    p.extra_kernel_args.clear();
    auto script = render_discovery_script(p, mac("52:54:00:00:00:99"));
    REQUIRE(script);
    CHECK(*script ==
          "#!ipxe\n"
          "# provisioner: unknown MAC 52:54:00:00:00:99 netboots the agent in discovery mode\n"
          "kernel http://10.77.0.1:8080/netboot/vmlinuz initrd=initrd.img "
          "provisioner.server=http://10.77.0.1:8080 provisioner.mode=discover "
          "provisioner.mac=52:54:00:00:00:99 || goto failed\n"
          "initrd --name initrd.img http://10.77.0.1:8080/netboot/initrd.img || goto failed\n"
          "boot || goto failed\n"
          ":failed\n"
          "echo provisioner: netboot failed, rebooting in 10 seconds\n"
          "sleep 10\n"
          "reboot\n");
}

TEST_CASE("pxe: a discovered host that has registered waits in iPXE and asks again") {
    auto script = render_discovered_wait_script(params(), mac("52:54:00:00:00:99"), 60);
    REQUIRE(script);
    CHECK(*script ==
          "#!ipxe\n"
          "# provisioner: 52:54:00:00:00:99 is registered as discovered and waits to be accepted\n"
          "echo provisioner: this host (52:54:00:00:00:99) waits for: provisioner host accept "
          "52:54:00:00:00:99 [--name NAME]\n"
          ":wait\n"
          "sleep 60\n"
          "chain --replace --autofree http://10.77.0.1:8080/boot/${mac:hexhyp}.ipxe || goto wait\n");
}

TEST_CASE("pxe: an imaged host boots from its local disk") {
    CHECK(render_local_disk_script(mac("52:54:00:12:34:56"), "h1") ==
          "#!ipxe\n"
          "# provisioner: h1 (52:54:00:12:34:56) has nothing to install: boot from the local disk\n"
          "sanboot --no-describe --drive 0x80 || exit 1\n");
    // A name that could break out of the comment line is not printed.
    CHECK(render_local_disk_script(mac("52:54:00:12:34:56"), "x\nshell") ==
          "#!ipxe\n"
          "# provisioner: host (52:54:00:12:34:56) has nothing to install: boot from the local disk\n"
          "sanboot --no-describe --drive 0x80 || exit 1\n");
}

TEST_CASE("pxe: tokens, names and args that iPXE or the kernel would misread are refused") {
    const base::Mac m = mac("52:54:00:12:34:56");
    CHECK(render_netboot_script(params(), {m, "h1", "a b"}).status().message() ==
          "host token: want letters, digits and \"-._~\", non-empty");
    CHECK_FALSE(render_netboot_script(params(), {m, "h1", "${root}"}));
    CHECK_FALSE(render_netboot_script(params(), {m, "h1", ""}));
    CHECK_FALSE(render_netboot_script(params(), {m, "h 1", "t"}));
    NetbootParams p = params();
    p.extra_kernel_args = "console=${x}";
    CHECK(render_netboot_script(p, {m, "h1", "t"}).status().message() ==
          "netboot params: extra kernel args \"console=${x}\": no '$', '#' or newline (iPXE "
          "would read them)");
    p = params();
    p.kernel_url = "tftp://10.77.0.1/vmlinuz";
    CHECK(render_discovery_script(p, m).status().message() ==
          "netboot params: kernel URL \"tftp://10.77.0.1/vmlinuz\": want an http:// or "
          "https:// URL");
}

TEST_CASE("pxe: the agent's command line lists the server's peers after it") {
    NetbootParams p = params();
    p.peer_urls = {"https://10.77.0.2:8080", "https://10.77.0.3:8080"};
    auto script = render_netboot_script(p, {mac("52:54:00:12:34:56"), "h1", "tok"});
    REQUIRE_MESSAGE(script, script.status().message());
    CHECK(script->find(" provisioner.server=http://10.77.0.1:8080,https://10.77.0.2:8080,"
                       "https://10.77.0.3:8080 provisioner.mode=image ") != std::string::npos);
    // The chain to the per-MAC script stays on this server.
    auto discovery = render_discovery_script(p, mac("52:54:00:00:00:99"));
    REQUIRE(discovery);
    CHECK(discovery->find("provisioner.server=http://10.77.0.1:8080,https://10.77.0.2:8080,") !=
          std::string::npos);
    for (const char* bad : {"10.77.0.2:8080", "https://a,https://b", "https://a b", ""}) {
        CAPTURE(bad);
        p.peer_urls = {bad};
        auto refused = render_netboot_script(p, {mac("52:54:00:12:34:56"), "h1", "tok"});
        REQUIRE_FALSE(refused);
        CHECK(refused.status().message().find("peer server URL") != std::string::npos);
    }
}
