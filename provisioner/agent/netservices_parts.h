// The pieces of netservices.cc, one file per tool (private to provisioner/agent): the names
// that mark what is ours, the nft filter, the tc shaping, the policy routes of compression.
#pragma once

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "provisioner/agent/netservices.h"

namespace provisioner::agent::netsvc {

inline constexpr const char* kTablePrefix = "pvns_";
inline constexpr const char* kIfbPrefix = "pvifb";
inline constexpr const char* kRootHandle = "1a21:";
inline constexpr const char* kIngressPref = "4921";
inline constexpr const char* kRouteTable = "4790";
inline constexpr const char* kRulePriority = "4790";

// 8 hex digits of FNV-1a over the VM's name: names of tables and devices, which allow fewer
// characters (and an interface name at most 15) than a VM name.
std::string short_hash(const std::string& vm);
std::string table_name(const std::string& vm);
std::string ifb_name(const std::string& vm);
// An interface name as the kernel allows it and nft can quote: 1-15 of [A-Za-z0-9._@:-].
bool valid_interface(const std::string& name);

// netservices_filter.cc: the VM's table, replaced in one transaction; new connections to the
// VM that no rule allows are refused (TCP reset, else ICMP unreachable).
std::string filter_script(const std::string& vm, const std::string& interface, bool bridge,
                          const wire::NetService& filter);
// Our tables as (family, name), from `nft -j list tables`.
Result<std::vector<std::pair<std::string, std::string>>> owned_tables(NetCommands& commands);
Status remove_filter(NetCommands& commands, const std::string& vm);

// netservices_shaping.cc: to the VM a tbf as the interface's root qdisc; from it, the
// interface's ingress redirected to an ifb shaped by a tbf.
Status apply_shaping(NetCommands& commands, const std::string& vm, const std::string& interface,
                     const wire::NetService& limit);
// Removes the root tbf and/or the ingress redirect of ours from interface, and vm's ifb.
void remove_shaping(NetCommands& commands, const std::string& vm, const std::string& interface);
// Removes our qdiscs from every interface not in keep (interface -> vm), and ifbs of VMs not
// in keep.
void sweep_shaping(NetCommands& commands, const std::map<std::string, std::string>& keep);

// netservices_routes.cc: one rule per (interface, network) sending the VM's traffic for the
// network through device, and the routes of table 4790; rules and routes of that table that
// are not wanted are removed. An empty `rules` removes all of them.
struct CompressRule {
    std::string interface;
    std::string cidr;
    bool operator<(const CompressRule& o) const {
        return std::tie(interface, cidr) < std::tie(o.interface, o.cidr);
    }
};
Status sync_routes(NetCommands& commands, const std::string& device,
                   const std::set<CompressRule>& rules);

// "a.b.c.d" -> "a.b.c.d/32"; a CIDR as it is.
std::string with_prefix(const std::string& cidr);

}  // namespace provisioner::agent::netsvc
