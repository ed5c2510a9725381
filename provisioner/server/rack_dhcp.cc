#include "rack_dhcp.h"

#include <algorithm>

#include "dhcp_service.h"

namespace provisioner::server {

RackDhcp::RackDhcp(Store& store, LeaseKeeper& leases, base::Clock& clock, std::string own_rack,
                   std::vector<std::string> standby)
    : store_(store),
      leases_(leases),
      clock_(clock),
      own_rack_(std::move(own_rack)),
      standby_(std::move(standby)) {}

Result<std::vector<RackDhcp::Change>> RackDhcp::tick() {
    if (auto presence = leases_.acquire(presence_lease(own_rack_)); !presence)
        return presence.status();
    std::set<std::string> now_served;
    std::vector<Change> changes;
    const std::set<std::string> before = served();
    auto note = [&](const std::string& rack, const LeaseRow& row) {
        const bool mine = row.owner == leases_.owner();
        if (mine) now_served.insert(rack);
        if (mine != before.contains(rack)) changes.push_back({rack, mine, row.taken_from});
    };

    auto own = leases_.acquire(dhcp_lease(own_rack_));
    if (!own) return own.status();
    note(own_rack_, *own);

    if (!standby_.empty()) {
        auto rows = store_.list_leases();
        if (!rows) return rows.status();
        const Timestamp now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  clock_.wall_now().time_since_epoch())
                                  .count();
        for (const std::string& rack : standby_) {
            if (rack == own_rack_) continue;
            const bool present = std::any_of(rows->begin(), rows->end(), [&](const LeaseRow& r) {
                return r.name == presence_lease(rack) && r.owner != leases_.owner() &&
                       r.expires_at > now;
            });
            const std::string name = dhcp_lease(rack);
            if (present) {
                // The rack's own server is back (or never left): its DHCP is its to answer.
                if (leases_.holds(name)) {
                    if (Status s = leases_.release(name); !s) return s;
                    changes.push_back({rack, false, ""});
                }
                continue;
            }
            auto lease = leases_.acquire(name);
            if (!lease) return lease.status();
            note(rack, *lease);
        }
    }
    std::lock_guard lock(mu_);
    served_ = std::move(now_served);
    return changes;
}

std::set<std::string> RackDhcp::served() const {
    std::lock_guard lock(mu_);
    return served_;
}

void RackDhcp::release_all() {
    std::set<std::string> racks;
    {
        std::lock_guard lock(mu_);
        racks.swap(served_);
    }
    for (const std::string& rack : racks) (void)leases_.release(dhcp_lease(rack));
    (void)leases_.release(presence_lease(own_rack_));
}

void follow_racks(RackDhcp& racks, DhcpService& dhcp, Store& store, const std::string& self,
                  const std::function<void(const std::string&)>& log) {
    auto changes = racks.tick();
    if (!changes) {
        log("rack DHCP leases: " + changes.status().message());
        return;
    }
    // Every tick, not only at a change: hosts enrolled or changed through another server.
    const std::set<std::string> served = racks.served();
    std::vector<Host> hosts;
    for (const std::string& rack : served) {
        HostFilter filter;
        filter.rack = rack;
        auto of_rack = store.list_hosts(filter);
        if (!of_rack) {
            log("rack DHCP: listing rack " + rack + "'s hosts: " + of_rack.status().message());
            return;  // the entries stay as they are until a tick reads them
        }
        hosts.insert(hosts.end(), of_rack->begin(), of_rack->end());
    }
    if (Status s = dhcp.serve_racks(served, hosts); !s) log("rack DHCP: " + s.message());
    for (const RackDhcp::Change& c : *changes) {
        std::string line = "rack " + c.rack + ": DHCP and boot scripts " +
                           (c.serving ? "served by " : "no longer served by ") + self;
        if (!c.taken_from.empty()) line += ", taken over from " + c.taken_from;
        log(line);
        (void)store.log_event(server_event(line));
    }
}

}  // namespace provisioner::server
