// dnsmasq's configuration as provisionerd renders it: pure functions of plain structs, so the
// exact text is unit-tested. Nothing here touches the system.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "base/mac.h"
#include "base/status.h"

namespace pxe {

using base::Result;
using base::Status;

// dnsmasq hands out addresses from [start, end] and is authoritative on the network.
struct FullRange {
    std::string start;  // "10.77.0.100"
    std::string end;    // "10.77.0.199"
    std::string netmask = "255.255.255.0";
    std::string lease = "1h";  // dnsmasq lease syntax: 45m, 1h, 12h, infinite
};

// Another DHCP server owns the addresses; dnsmasq adds only the boot information (proxy-DHCP,
// PXE spec section 2.2.5). subnet is the network address ("10.77.0.0").
struct ProxyDhcp {
    std::string subnet;
    std::string netmask = "255.255.255.0";
};

// Which iPXE binary UEFI x64 clients load. snponly.efi drives the NIC through the firmware's own
// SNP driver, so it works on every NIC the firmware could PXE-boot from (the UEFI twin of
// undionly.kpxe); ipxe.efi carries iPXE's drivers, faster on the NICs it knows, dead on others.
enum class UefiBootFile { kSnpOnly, kIpxe };

struct DnsmasqConfig {
    std::string interface;       // "eth0": the provisioning network
    std::string listen_address;  // optional; the server's address on it
    std::variant<FullRange, ProxyDhcp> mode;
    std::string tftp_root;      // absolute; see install_boot_files
    std::string hosts_dir;      // absolute; one dhcp-host file per host
    std::string http_base_url;  // "http://10.77.0.1:8080", no trailing '/'
    std::string pid_file;       // absolute, or empty: no pid file
    std::string lease_file;     // absolute (full range); unused in proxy mode
    std::string log_file;       // absolute, or empty: log to stderr
    bool log_dhcp = true;       // one log line per DHCP exchange
    std::string user;           // user to drop to; empty: dnsmasq's default
    UefiBootFile uefi_boot_file = UefiBootFile::kSnpOnly;
    // Answer only the MACs of the hosts directory (a rack server beside others on one
    // segment): unknown MACs get nothing, so no discovery by PXE through this dnsmasq.
    bool known_hosts_only = false;
};

// One enrolled host: dnsmasq gives this MAC this address (if any) and name.
struct HostEntry {
    base::Mac mac;
    std::string ip;        // optional: empty lets dnsmasq pick from the range
    std::string hostname;  // optional; an RFC 1123 label
};

// dnsmasq.conf for the config, or an error naming the first bad field (missing, relative
// path, not an IPv4 address, or a character such as a newline that would inject config).
Result<std::string> render_dnsmasq_conf(const DnsmasqConfig& config);

// The one-line dhcp-host file of a host ("52:54:00:12:34:56,10.77.0.11,h1\n"), or an error.
Result<std::string> render_host_entry(const HostEntry& host);

// File name of a host's entry in the hosts dir: "52-54-00-12-34-56" (dnsmasq skips names
// beginning with '.' and ending with '~', so temporary files use those forms).
std::string host_entry_file_name(const base::Mac& mac);

// How provisionerd runs dnsmasq under a Supervisor: in the foreground (so it stays its child and
// SIGCHLD tells when it dies) and with only the rendered file as configuration.
std::vector<std::string> dnsmasq_argv(const std::string& binary, const std::string& conf_path);

}  // namespace pxe
