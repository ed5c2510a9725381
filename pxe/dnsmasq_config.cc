#include "pxe/dnsmasq_config.h"

#include <sstream>

#include "pxe/boot_files.h"
#include "pxe/ipxe_script.h"
#include "validate.h"

namespace pxe {

namespace {

using detail::check_absolute_path;
using detail::check_http_url;
using detail::check_ipv4;
using detail::check_plain;

Status check_config(const DnsmasqConfig& c) {
    Status s = check_plain("interface", c.interface);
    if (s && !c.listen_address.empty()) s = check_ipv4("listen address", c.listen_address);
    if (s) s = check_absolute_path("tftp root", c.tftp_root);
    if (s) s = check_absolute_path("hosts dir", c.hosts_dir);
    if (s) s = check_http_url("HTTP base URL", c.http_base_url);
    if (s && !c.http_base_url.empty() && c.http_base_url.back() == '/')
        s = Status::error("HTTP base URL \"" + c.http_base_url + "\": drop the trailing '/'");
    if (s && !c.pid_file.empty()) s = check_absolute_path("pid file", c.pid_file);
    if (s && !c.log_file.empty()) s = check_absolute_path("log file", c.log_file);
    if (s && !c.user.empty()) s = check_plain("user", c.user);
    if (!s) return s;
    if (const auto* range = std::get_if<FullRange>(&c.mode)) {
        s = check_ipv4("range start", range->start);
        if (s) s = check_ipv4("range end", range->end);
        if (s) s = check_ipv4("netmask", range->netmask);
        if (s) s = check_plain("lease time", range->lease);
        if (s) s = check_absolute_path("lease file", c.lease_file);
    } else {
        const auto& proxy = std::get<ProxyDhcp>(c.mode);
        s = check_ipv4("proxy subnet", proxy.subnet);
        if (s) s = check_ipv4("netmask", proxy.netmask);
    }
    return s;
}

// DHCP option 93 (RFC 4578) values and the tags dnsmasq.conf gives them.
void render_client_classes(std::ostream& out) {
    out << "# Client architecture, DHCP option 93 (RFC 4578): 0 BIOS; 7 and 9 UEFI x64 (7 is\n"
           "# \"EFI BC\", which x64 firmware sends in practice). iPXE announces itself with user\n"
           "# class \"iPXE\" (option 77): it gets its script by HTTP instead of iPXE again, which\n"
           "# would loop.\n"
           "dhcp-match=set:bios,option:client-arch,0\n"
           "dhcp-match=set:efi64,option:client-arch,7\n"
           "dhcp-match=set:efi64,option:client-arch,9\n"
           "dhcp-userclass=set:ipxe,iPXE\n";
}

}  // namespace

Result<std::string> render_dnsmasq_conf(const DnsmasqConfig& c) {
    if (Status s = check_config(c); !s) return s.context("dnsmasq config");
    const std::string efi_file =
        c.uefi_boot_file == UefiBootFile::kSnpOnly ? kEfiSnpFile : kEfiIpxeFile;
    const std::string script_url = ipxe_script_url_template(c.http_base_url);

    std::ostringstream out;
    out << "# dnsmasq.conf written by provisionerd; rewritten on every start, do not edit.\n"
           "# DHCP and TFTP only: port=0 turns DNS off, so nothing reads resolv.conf or hosts.\n"
           "port=0\n"
           "no-resolv\n"
           "no-hosts\n"
        << "interface=" << c.interface << "\n"
        << "bind-interfaces\n";
    if (!c.listen_address.empty()) out << "listen-address=" << c.listen_address << "\n";
    out << (c.pid_file.empty() ? std::string("pid-file\n") : "pid-file=" + c.pid_file + "\n");
    if (!c.user.empty()) out << "user=" << c.user << "\n";
    out << "log-facility=" << (c.log_file.empty() ? std::string("-") : c.log_file) << "\n";
    if (c.log_dhcp) out << "log-dhcp\n";

    if (const auto* range = std::get_if<FullRange>(&c.mode)) {
        out << "# Full DHCP: this server owns the provisioning network's addresses.\n"
            << "dhcp-range=" << range->start << "," << range->end << "," << range->netmask << ","
            << range->lease << "\n";
        // Not authoritative beside other rack servers: it must not NAK their clients.
        if (!c.known_hosts_only) out << "dhcp-authoritative\n";
        out << "dhcp-leasefile=" << c.lease_file << "\n";
    } else {
        const auto& proxy = std::get<ProxyDhcp>(c.mode);
        out << "# Proxy-DHCP: another server hands out addresses; this one adds boot information.\n"
            << "dhcp-range=" << proxy.subnet << ",proxy," << proxy.netmask << "\n";
    }

    out << "# Enrolled hosts: one dhcp-host file each, read when it appears (inotify), no "
           "restart.\n"
        << "dhcp-hostsdir=" << c.hosts_dir << "\n";
    if (c.known_hosts_only)
        out << "# A rack server: its racks' hosts only.\ndhcp-ignore=tag:!known\n";
    out << "enable-tftp\n"
        << "tftp-root=" << c.tftp_root << "\n";
    render_client_classes(out);

    if (std::holds_alternative<FullRange>(c.mode)) {
        out << "dhcp-boot=tag:!ipxe,tag:bios," << kBiosBootFile << "\n"
            << "dhcp-boot=tag:!ipxe,tag:efi64," << efi_file << "\n";
    } else {
        // In proxy mode PXE ROMs take their file from a pxe-service menu; with one item per
        // architecture they boot it without a prompt. iPXE matches no pxe-service, so dnsmasq
        // sends "no menu, use the file name" and the file name of the dhcp-boot line below.
        out << "pxe-service=tag:!ipxe,x86PC,\"provisioner BIOS\"," << kBiosBootFile << "\n"
            << "pxe-service=tag:!ipxe,BC_EFI,\"provisioner UEFI\"," << efi_file << "\n"
            << "pxe-service=tag:!ipxe,x86-64_EFI,\"provisioner UEFI\"," << efi_file << "\n";
    }
    out << "dhcp-boot=tag:ipxe," << script_url << "\n";
    return out.str();
}

Result<std::string> render_host_entry(const HostEntry& host) {
    std::string line = host.mac.str();
    if (!host.ip.empty()) {
        if (Status s = check_ipv4("host IP", host.ip); !s) return s;
        line += "," + host.ip;
    }
    if (!host.hostname.empty()) {
        if (Status s = detail::check_hostname("host name", host.hostname); !s) return s;
        line += "," + host.hostname;
    }
    return line + "\n";
}

std::vector<std::string> dnsmasq_argv(const std::string& binary, const std::string& conf_path) {
    return {binary, "--keep-in-foreground", "--conf-file=" + conf_path};
}

std::string host_entry_file_name(const base::Mac& mac) {
    return mac.hyphen();
}

}  // namespace pxe
