// The work this server owns, as leases in the shared store (store.h, server_state.h LeaseRow):
// a deployment ("deployment:12") is driven by the one server holding its lease. The holder
// renews its leases every third of the lease time; a server that dies stops renewing, and once
// its leases have expired another server takes them over (Orchestrator::takeover()).
//
// Why rows and not PostgreSQL advisory locks: see pg_store_leases.cc.
//
// Time: expiries are the wall clock's milliseconds (shared by the servers of one store, whose
// clocks NTP keeps in step); when to renew is the monotonic clock's. Both from the injected
// base::Clock, so that tests move a FakeClock past an expiry.
//
// Thread-safe: the process thread renews and takes over, API threads acquire and release.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "provisioner/store.h"

namespace provisioner::server {

class LeaseKeeper {
  public:
    // store and clock must outlive it. owner: this server's id; lease_time > 0.
    LeaseKeeper(Store& store, base::Clock& clock, std::string owner,
                std::chrono::milliseconds lease_time);

    const std::string& owner() const { return owner_; }
    std::chrono::milliseconds lease_time() const { return lease_time_; }

    // Takes (or renews) the lease `name` for this server; the lease as it is afterwards: this
    // server's when it got it (taken_from names a dead holder whose lease it took over), else
    // the live holder's. May run inside a store transaction.
    Result<LeaseRow> acquire(const std::string& name);
    // Gives `name` up; nothing when this server does not hold it.
    Status release(const std::string& name);
    bool holds(const std::string& name) const;

    // At most once a third of the lease time (by the monotonic clock): renews every lease this
    // server holds and returns those it held and lost since (taken over by another server
    // while this one failed to renew: it must stop working on them). Not due: empty.
    Result<std::vector<std::string>> renew_if_due();

    // Leases named prefix* whose holder is another server and whose expiry has passed: the
    // work of servers taken to be dead, for acquire().
    Result<std::vector<LeaseRow>> expired(const std::string& prefix);

  private:
    Timestamp wall_ms();

    Store& store_;
    base::Clock& clock_;
    const std::string owner_;
    const std::chrono::milliseconds lease_time_;
    mutable std::mutex mu_;  // guards held_ and renewed_at_; never held across a store call
    std::set<std::string> held_;
    std::optional<base::Clock::time_point> renewed_at_;
};

// The lease of deployment id: "deployment:ID"; the id back from such a name, or 0.
inline constexpr const char* kDeploymentLeasePrefix = "deployment:";
std::string deployment_lease(std::int64_t id);
std::int64_t deployment_of_lease(const std::string& name);

// A server id unique to this process: "NAME-PID-RANDOM" (NAME: name, else the hostname). A
// restarted server is a new owner: it never renews, as if alive, the leases its dead self
// held, which another server may be taking over.
std::string make_server_id(const std::string& name);

}  // namespace provisioner::server
