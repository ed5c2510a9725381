// The site file: XSM's XML description of a site's virtual machines, with this project's
// extensions (placement, templates, networks, constraints, services). The format, with an
// example, is in provisioner/site/SITE_FILE.md; XSM's Figure 3 file is valid as it stands.
//
// Parsing checks everything that can be checked without the inventory: syntax, numbers, MACs
// and IPs, duplicate names, MACs and IPs, references to networks and VMs, contradictory
// constraints. Whether a DOM0 or a template exists is for the caller, which knows them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "provisioner/status.h"

namespace provisioner::site {

// Which template a VM's disk is an overlay on. Resolving it is the template store's job.
struct TemplateRef {
    enum class Kind { none, name, labels };
    Kind kind = Kind::none;
    std::string name;                 // Kind::name
    std::string version;              // Kind::name; empty: most recently used, else newest
    std::vector<std::string> labels;  // Kind::labels: a template carrying all; sorted, unique
    // "", "debian", "debian@3", "label=debian,web": the form vmhost::parse_template_ref reads;
    // stable, for recording with a VM and comparing.
    std::string str() const;
};

struct Interface {
    std::string network;  // a Network's name; "" = the host's default (untagged) network
    std::string hwaddr;   // canonical "aa:00:00:00:00:01"; "" = let the host choose
    std::string ip;       // "dhcp", or a dotted IPv4 address
    std::size_t line = 0;
};

struct Service {
    std::string package;
    std::vector<std::pair<std::string, std::string>> parameters;  // in file order
    std::size_t line = 0;
};

// One rule of a filter: new connections to the VM that it lets in (SITE_FILE.md, "Network
// services"). Replies to the VM's own connections always pass.
struct NetAllow {
    std::string proto;       // "tcp", "udp" or "icmp"
    std::uint16_t port = 0;  // tcp/udp destination port; 0 = any
    std::string from;        // an IPv4 address or CIDR; "" = anywhere
    std::size_t line = 0;
};

// A network service Dom0 gives a VM on its own interface, with no change to the guest.
struct NetService {
    enum class Kind { compress, rate_limit, filter };
    Kind kind = Kind::compress;
    std::string peer;             // compress: the peer Dom0's IPv4 address
    std::vector<std::string> to;  // compress: remote IPv4 CIDRs whose traffic is compressed
    std::uint64_t egress_bps = 0;   // rate-limit: from the VM, bits/s; 0 = not limited
    std::uint64_t ingress_bps = 0;  // rate-limit: to the VM, bits/s; 0 = not limited
    std::vector<NetAllow> allow;    // filter: what may connect to the VM; nothing else may
    std::size_t line = 0;
};
const char* to_string(NetService::Kind kind);  // "compress", "rate-limit", "filter"

struct Vm {
    std::string name;
    std::string set;     // the Set it belongs to
    std::string config;  // XSM's config attribute (a Xen config name); may be empty
    std::string dom0;    // the host it is pinned to (address or name); "" = placement chooses
    std::uint32_t vcpus = 0;
    std::uint64_t memory_mib = 0;
    TemplateRef image;
    std::vector<Interface> interfaces;  // the VM's own HWADDR/IP first, when it has them
    std::vector<Service> services;
    std::vector<NetService> netservices;  // at most one of each kind, in file order
    std::size_t line = 0;
};

struct Network {
    std::string name;
    std::uint16_t vlan = 0;  // 1..4094
    std::size_t line = 0;
};

struct Constraint {
    enum class Kind { together, apart };
    Kind kind = Kind::together;
    std::vector<std::string> vms;
    std::size_t line = 0;
};

struct SiteSet {
    std::string name;
    std::string owner;
    std::size_t line = 0;
};

struct Site {
    std::vector<SiteSet> sets;
    std::vector<Network> networks;
    std::vector<Vm> vms;  // file order
    std::vector<Constraint> constraints;
    std::string placement;        // algorithm named by the file; "" = the caller's default
    double cpu_threshold = 0;     // 0 = the placer's default
    double memory_threshold = 0;  // 0 = the placer's default

    const Vm* find_vm(std::string_view name) const;
};

struct Problem {
    std::size_t line = 0;  // 1-based; 0 when the problem has no line (an empty file)
    std::string message;
};

struct ParsedSite {
    Site site;
    std::vector<Problem> problems;  // every problem found, in line order
    bool ok() const { return problems.empty(); }
    // "site.xml:12: duplicate VM name \"vm1\" (first at line 4)\n..." for a CLI or API body.
    std::string summary(std::string_view source = "site") const;
};

// Reads a whole site file from memory. Never throws; problems are collected, not stopped at.
ParsedSite parse_site(std::string_view xml);

// The same, as a Result: invalid_argument whose message is summary(source).
Result<Site> load_site(std::string_view xml, std::string_view source = "site");

// Reads and parses a file; not_found when it cannot be read.
Result<Site> load_site_file(const std::string& path);

}  // namespace provisioner::site
