// Site apply as a singleton job (issue 20): of the servers sharing a store, one at a time plans
// and queues the site's applies, under the lease "site-apply" (lease_keeper.h). Two servers
// applying at once would each plan from its own VM registry and drive the same VMs twice.
//
// Each server's VmRegistry is its cache of the store, which the agents that report to other
// servers do not update. Before each apply the server reads its registry back from the store
// (VmRegistry::load(): the content of every report, the applies and their answers; only
// unchanged reports' waiting time refreshes are dropped, as a restart drops them), so that it
// plans from what every server wrote: the last holder's applies and what they did, and the
// reports of the agents that report elsewhere. The holder keeps the lease
// (LeaseKeeper renews everything it holds) while one of its applies is running or an apply is
// being planned here, and gives it up once none is, so that any server may apply next.
//
// A holder that dies stops renewing. Once its lease has expired, the first server to find it
// (tick(), or begin() of an apply there) takes it over, reads its registry back from the store,
// which adopts the dead server's unfinished applies (their unanswered steps are handed to the
// agents, who fail over to this server, and their answers accepted here), and logs a server
// event naming both servers and the applies it adopted. A holder that was only stalled learns
// at its next renewal that it lost the lease, and reads the store again before its next apply.
//
// Thread-safe: begin() runs on API workers, tick() on the process thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "base/clock.h"
#include "lease_keeper.h"
#include "provisioner/store.h"
#include "vm_registry.h"

namespace provisioner::server {

class SiteApplyLease {
  public:
    static constexpr const char* kName = "site-apply";

    // Keeps the lease while it lives (an apply being planned and queued); see begin().
    class Claim {
      public:
        explicit Claim(SiteApplyLease& lease) : lease_(&lease) {}
        Claim(Claim&& other) noexcept : lease_(std::exchange(other.lease_, nullptr)) {}
        Claim& operator=(Claim&&) = delete;
        ~Claim();

      private:
        SiteApplyLease* lease_;
    };

    // All must outlive it. log: one line for the server's log.
    SiteApplyLease(LeaseKeeper& leases, VmRegistry& vms, Store& store, base::Clock& clock,
                   std::function<void(const std::string&)> log);

    // Before an apply is planned: takes (or keeps) the lease for this server and reads the VM
    // registry back from the store. The lease is not given up
    // while the Claim lives, nor afterwards while an apply of this server runs. Errors:
    // conflict naming the live holder and how long its lease has left; storage when the store
    // fails (the lease is then not held).
    Result<Claim> begin();

    // The process thread, every tick: gives the lease up when this server holds it, no Claim
    // lives and none of its applies runs; about once a second, takes over a lease whose holder
    // let it expire.
    void tick();

  private:
    // After this server took lease over from a dead holder: reads the registry back, logs the
    // event. Under mu_.
    Status adopt_locked(const LeaseRow& lease);
    bool applying_locked() const;

    LeaseKeeper& leases_;
    VmRegistry& vms_;
    Store& store_;
    base::Clock& clock_;
    std::function<void(const std::string&)> log_;
    // Serialises begin() and tick(): a lease is never given up between its begin() and the
    // apply it guards. Held across store calls; only applies and the process tick take it.
    mutable std::mutex mu_;
    int claims_ = 0;  // Claims alive
    base::Clock::time_point next_scan_{};
};

}  // namespace provisioner::server
