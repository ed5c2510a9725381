// The per-MAC iPXE scripts provisionerd serves over HTTP: pure text rendering, unit-tested.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/mac.h"
#include "base/status.h"

namespace pxe {

using base::Result;
using base::Status;

// Path of a MAC's script on provisionerd's HTTP server: "/boot/52-54-00-12-34-56.ipxe".
std::string ipxe_script_path(const base::Mac& mac);
// The MAC of a script path, or nothing when the path is not one ipxe_script_path makes.
std::optional<base::Mac> parse_ipxe_script_path(std::string_view path);
// What dnsmasq hands iPXE as its boot file name: base + "/boot/${mac:hexhyp}.ipxe". iPXE
// expands ${mac:hexhyp} itself (autoboot expands settings in the DHCP filename), so one line of
// dnsmasq.conf serves every host and lands on ipxe_script_path of the booting MAC.
std::string ipxe_script_url_template(const std::string& http_base_url);

// Where the netboot kernel and initramfs are and what goes on every kernel command line.
struct NetbootParams {
    std::string server_url;         // provisionerd, "http://10.77.0.1:8080"; handed to the agent
    std::string kernel_url;         // "http://10.77.0.1:8080/netboot/vmlinuz"
    std::string initrd_url;         // "http://10.77.0.1:8080/netboot/initrd.img"
    std::string extra_kernel_args;  // "console=ttyS0,115200", or empty
    // The other servers of the site (sharing its database), each an http(s) URL: the agent
    // gets server_url then these on its command line, to fail over to. Empty: none.
    std::vector<std::string> peer_urls = {};
};

// An enrolled host to image: the agent boots with the server URL, the host's MAC and its
// per-host token (letters, digits and "-._~" only: it lands on a kernel command line and in
// an iPXE script, where '$' and spaces mean something).
struct NetbootHost {
    base::Mac mac;
    std::string hostname;
    std::string token;
};

// Kernel command-line keys the agent reads from /proc/cmdline.
inline constexpr const char* kCmdlineServer = "provisioner.server";
inline constexpr const char* kCmdlineMode = "provisioner.mode";  // "image" or "discover"
inline constexpr const char* kCmdlineMac = "provisioner.mac";
inline constexpr const char* kCmdlineToken = "provisioner.token";

// Boots the netboot kernel + initramfs with the agent in imaging mode.
Result<std::string> render_netboot_script(const NetbootParams& params, const NetbootHost& host);
// An unknown MAC: boots the agent in discovery mode (no token: it registers as discovered).
Result<std::string> render_discovery_script(const NetbootParams& params, const base::Mac& mac);
// A discovered MAC that has registered already (its agent reported its facts): instead of
// booting the agent again to register once more, it waits in iPXE and fetches its script
// again every `every_seconds`, until the operator accepts it and deploys it.
Result<std::string> render_discovered_wait_script(const NetbootParams& params, const base::Mac& mac,
                                                  int every_seconds = 60);
// A host with nothing to install (imaged, ready, or enrolled and not deployed) boots its first
// disk: `sanboot --no-describe --drive 0x80` on BIOS, and when that fails (UEFI has no INT 13
// drive 0x80) `exit`, which hands back to the firmware's next boot entry, the local disk.
std::string render_local_disk_script(const base::Mac& mac, const std::string& hostname);

}  // namespace pxe
