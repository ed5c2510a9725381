// Network services for VMs, in Dom0 (seed 003; SITE_FILE.md "Network services"): the site's
// filters (nftables), rate limits (tc) and compression (compress_tunnel.h) installed on each
// VM's own interface, with no change to the guest. The desired set comes from the server's
// answer (wire::Dom0Answer::netservices) and is kept in a file, so an agent restarted without
// its server re-applies what the site said and removes what it did not.
//
// Everything installed is named so that it is recognisably ours, and the first reconcile of a
// run removes whatever of ours the site no longer wants (a crashed run's leftovers too):
//   nft:  a table per VM, "pvns_<hash of the VM name>" (family inet, or bridge when the
//         interface is a bridge port), with the VM's name in its comment;
//   tc:   the interface's root qdisc with handle 1a21: (to the VM), and for traffic from the
//         VM an ingress qdisc whose filter has pref 4921, redirecting to an ifb "pvifb<hash>";
//   ip:   policy rules and routes in table 4790, from the VM's interface to the compressed
//         networks, through the tunnel device "pvzip0".
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "provisioner/status.h"
#include "provisioner/wire/netservice.h"

namespace provisioner::agent {

// The commands the services are installed with. Abstract so that the reconciler's decisions
// are tested without root (a fake records the commands and answers the listings).
class NetCommands {
  public:
    virtual ~NetCommands() = default;
    // Runs argv (ip, tc, nft) to completion: its stdout, or an error with its exit status and
    // the end of its stderr.
    virtual Result<std::string> run(const std::vector<std::string>& argv) = 0;
    // `nft -f` of script: one transaction, all or nothing.
    virtual Status nft_script(const std::string& script) = 0;
    // Whether a network interface of that name exists in this namespace.
    virtual bool link_exists(const std::string& name) = 0;
    // Whether it is a bridge port (its Dom0 bridges, rather than routes, the VM's traffic).
    virtual bool is_bridge_port(const std::string& name) = 0;
};
std::unique_ptr<NetCommands> real_net_commands();

// The data path of compression, started while some VM has it (compress_tunnel.h for the real
// one). Abstract for the same reason as NetCommands.
class CompressPath {
  public:
    struct Route {
        std::string cidr;  // remote network whose traffic goes through the peer
        std::string peer;  // the peer Dom0's IPv4 address
    };
    virtual ~CompressPath() = default;
    virtual const std::string& device() const = 0;  // the tunnel's interface ("pvzip0")
    virtual void set_routes(std::vector<Route> routes) = 0;
    // The site's tunnel key (wire::Dom0Answer::tunnel_key, 64 hex digits); anything else, ""
    // included, leaves the path without a key: it then sends nothing and takes nothing.
    virtual void set_key(std::string hex) = 0;
};
using CompressPathFactory = std::function<Result<std::unique_ptr<CompressPath>>()>;

struct NetServicesOptions {
    std::filesystem::path state_file;   // the desired set, kept across restarts
    CompressPathFactory compress_path;  // none: compression is refused (logged)
    std::function<void(const std::string&)> log = [](const std::string&) {};
};

// Not thread-safe: the Dom0 loop's thread alone calls it.
class NetServices {
  public:
    NetServices(NetCommands& commands, NetServicesOptions options);
    ~NetServices();

    // Reads the desired set a previous run kept (none kept: nothing desired). storage when
    // the file exists but cannot be read as one.
    Status load();
    // The site's set for this host's VMs (every VM not named has none) and its compression
    // tunnel's key (hex; "" for none); both kept in the file, which is private (0600).
    Status set_desired(std::vector<wire::VmNetServices> desired, std::string tunnel_key = "");
    const std::map<std::string, std::vector<wire::NetService>>& desired() const { return desired_; }

    // Makes the host match the desired set: installs or replaces what changed for each VM
    // whose interface_of gives an existing interface, and removes everything of ours for
    // other VMs. The first call of a run also sweeps the kernel for what is ours but not
    // desired. A service that fails is logged and retried at the next call.
    void reconcile(const std::function<std::string(const std::string& vm)>& interface_of);

    // What is installed for vm now (for the report): the services as applied.
    std::vector<wire::NetService> active(const std::string& vm) const;

    // Removes everything of ours (the agent's `netservices --clear`, tests).
    void clear();

  private:
    struct Applied {
        std::string interface;
        std::map<wire::NetService::Kind, wire::NetService> services;
    };
    bool install(const std::string& vm, const std::string& interface, const wire::NetService& s);
    void uninstall(const std::string& vm, const std::string& interface,
                   wire::NetService::Kind kind);
    void sync_compression();
    void sweep();

    NetCommands& commands_;
    NetServicesOptions options_;
    std::map<std::string, std::vector<wire::NetService>> desired_;
    std::string tunnel_key_;
    std::map<std::string, Applied> applied_;
    std::unique_ptr<CompressPath> compress_;
    bool swept_ = false;
};

}  // namespace provisioner::agent
