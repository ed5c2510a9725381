// Which racks' DHCP (and boot scripts) a rack server answers for (provisionerd --rack,
// --dhcp-standby), under leases in the shared store (lease_keeper.h):
// - "rack-server:R": held by a live server started with --rack R (its presence);
// - "dhcp:R": held by the one server whose dnsmasq answers rack R's hosts now.
// A server takes its own rack's DHCP lease whenever it is free. A standby for rack R takes
// "dhcp:R" only while no live server of rack R is present (its presence lease expired: killed,
// hung, or never started), and releases it as soon as one is present again, so the rack's own
// server takes it back at its next tick. One segment (one rack) is thus answered by one
// dnsmasq at a time; the gap at a handover is about one tick.
//
// tick() belongs to one thread (the process thread); served() may be read from any thread.
#pragma once

#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "lease_keeper.h"

namespace provisioner::server {

class RackDhcp {
  public:
    // What changed at a tick: racks this server began or stopped answering for, and from whom
    // it took a rack (its dead holder's id, "" when the lease was free).
    struct Change {
        std::string rack;
        bool serving = false;
        std::string taken_from;
    };

    // store, leases and clock (the leases' own: expiries are its wall time) must outlive it.
    // own_rack: --rack (not empty); standby: the --dhcp-standby racks.
    RackDhcp(Store& store, LeaseKeeper& leases, base::Clock& clock, std::string own_rack,
             std::vector<std::string> standby);

    // Keeps this server's presence and leases; what changed (empty: nothing). A store error
    // leaves the racks as they were, to be tried again at the next tick.
    Result<std::vector<Change>> tick();
    // The racks answered for as of the last tick.
    std::set<std::string> served() const;
    // Gives every lease up (a clean stop, so that a standby takes over at once).
    void release_all();

    static std::string dhcp_lease(const std::string& rack) { return "dhcp:" + rack; }
    static std::string presence_lease(const std::string& rack) { return "rack-server:" + rack; }

  private:
    Store& store_;
    LeaseKeeper& leases_;
    base::Clock& clock_;
    const std::string own_rack_;
    const std::vector<std::string> standby_;
    mutable std::mutex mu_;  // guards served_
    std::set<std::string> served_;
};

class DhcpService;

// Once a second on the process thread: ticks racks, then hands dhcp the racks served and their
// hosts as the store has them (so that hosts enrolled through another server are answered
// within a second); each change of racks is logged and an event ("rack r1: DHCP and boot
// scripts served by B, taken over from A").
void follow_racks(RackDhcp& racks, DhcpService& dhcp, Store& store, const std::string& self,
                  const std::function<void(const std::string&)>& log);

}  // namespace provisioner::server
