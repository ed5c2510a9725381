// The site's network services (SITE_FILE.md "Network services"): what the last applied site
// wants for each VM, handed to the VM's Dom0 agent with every answer to its report
// (wire::Dom0Answer::netservices), and what each agent last reported installed, for `vm list`
// and `site diff`.
//
// An answer speaks for the VMs its report named and for those the applied site places on the
// reporting host, so that an agent whose VM is not (yet) running again, after the agent or its
// Dom0 restarted, keeps that VM's services rather than dropping them until the VM is back.
//
// Durable: the desired set is the store's setting kSetting, and where the site placed each VM
// kPlacementSetting, both written before set_site returns and read back by load() (mount_api),
// so that a restarted server hands the agents the same set. What agents report is kept in
// memory: they report again every interval.
// Thread-safe: every member takes the one mutex (the store write too: one row).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "provisioner/placement.h"
#include "provisioner/site.h"
#include "provisioner/status.h"
#include "provisioner/store.h"
#include "provisioner/wire/netservice.h"

namespace provisioner::server {

// The wire's form of one service of the site file.
wire::NetService wire_netservice(const site::NetService& service);

class NetServiceBoard {
  public:
    static constexpr const char* kSetting = "netservices.desired";
    static constexpr const char* kPlacementSetting = "netservices.placement";
    explicit NetServiceBoard(Store& store) : store_(store) {}

    // Replaces the desired set with the store's (none stored: none desired); storage when
    // what is stored does not read.
    Status load();
    // The site's services become the desired set, each VM's on the host placement gives it
    // (Host::name; a VM it does not name is on its DOM0, if the site pins it). storage when it
    // could not be kept (the set in memory is then unchanged).
    Status set_site(const site::Site& site, const std::vector<placement::Assignment>& placed = {});
    // What the agent of host, reporting these VMs, is to install: every VM it reported and
    // every VM the site places on host, each with its services (none for a VM the site gives
    // none). host matches a site's DOM0 by name or by address (ip).
    std::vector<wire::VmNetServices> for_host(const std::string& host, const std::string& ip,
                                              const std::vector<std::string>& reported) const;
    // What an agent reported installed for vm.
    void reported(const std::string& vm, std::vector<wire::NetService> active);
    std::vector<wire::NetService> active(const std::string& vm) const;
    // What applying site would switch, against what the agents report installed, one line
    // each: "web1: on compress to 10.2.0.0/24 via 10.77.0.12", "web1: off filter allow
    // tcp/22"; a changed service is one line "web1: change ...".
    std::vector<std::string> changes(const site::Site& site) const;

  private:
    using Desired = std::map<std::string, std::vector<wire::NetService>>;
    using Placed = std::map<std::string, std::string>;  // VM -> host name or DOM0 address
    static Desired desired_of(const site::Site& site);
    static Placed placed_of(const site::Site& site,
                            const std::vector<placement::Assignment>& placed);

    Store& store_;
    mutable std::mutex mu_;
    Desired desired_;
    Placed placed_;
    // placed_ by host (name or address), for a report's answer: a report costs a lookup, not a
    // walk of every VM of the site.
    std::map<std::string, std::vector<std::string>> on_host_;
    void set_placed_locked(Placed placed);
    std::map<std::string, std::vector<wire::NetService>> active_;
};

}  // namespace provisioner::server
