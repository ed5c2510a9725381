#include "site_apply_lease.h"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace provisioner::server {

namespace {

constexpr std::chrono::seconds kExpiredLeaseScanEvery{1};

}  // namespace

SiteApplyLease::Claim::~Claim() {
    if (!lease_) return;
    std::lock_guard lock(lease_->mu_);
    --lease_->claims_;
}

SiteApplyLease::SiteApplyLease(LeaseKeeper& leases, VmRegistry& vms, Store& store,
                               base::Clock& clock, std::function<void(const std::string&)> log)
    : leases_(leases), vms_(vms), store_(store), clock_(clock), log_(std::move(log)) {}

Result<SiteApplyLease::Claim> SiteApplyLease::begin() {
    std::lock_guard lock(mu_);
    auto lease = leases_.acquire(kName);
    if (!lease) return lease.status().context("taking the site apply lease");
    if (lease->owner != leases_.owner()) {
        const Timestamp now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  clock_.wall_now().time_since_epoch())
                                  .count();
        const double left = double(std::max<Timestamp>(0, lease->expires_at - now)) / 1000;
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%.1f", left);
        return Status::error(Code::conflict,
                             "server " + lease->owner +
                                 " is applying the site (it holds the site apply lease, "
                                 "renewed while its apply runs; " + seconds +
                                 " s left unless renewed); see provisioner site status, and "
                                 "apply again once it is done");
    }
    if (!lease->taken_from.empty()) {
        if (Status s = adopt_locked(*lease); !s) {
            (void)leases_.release(kName);
            return s;
        }
    } else {
        // Other servers may have applied, and agents reported to them, since this one last
        // read the store: plan from what the store holds.
        if (Status s = vms_.load(); !s) {
            (void)leases_.release(kName);
            return s.context("reading the VM registry back for the apply");
        }
    }
    ++claims_;
    return Claim(*this);
}

bool SiteApplyLease::applying_locked() const {
    if (claims_ > 0) return true;
    const auto applies = vms_.applies();
    return std::any_of(applies.begin(), applies.end(),
                       [](const ApplyRecord& a) { return a.state == "running"; });
}

void SiteApplyLease::tick() {
    std::lock_guard lock(mu_);
    if (leases_.holds(kName)) {
        // Its applies' steps may be answered through other servers: read them back (at most
        // once a VmRegistry::kActionSync) before asking whether one still runs.
        const Timestamp now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  clock_.wall_now().time_since_epoch())
                                  .count();
        if (Status s = vms_.sync_actions(now); !s) log_("site apply: " + s.message());
        if (!applying_locked())
            if (Status s = leases_.release(kName); !s)
                log_("giving up the site apply lease: " + s.message());  // it expires instead
        return;
    }
    const auto now = clock_.now();
    if (now < next_scan_) return;
    next_scan_ = now + kExpiredLeaseScanEvery;
    auto expired = leases_.expired(kName);
    if (!expired) {
        log_("reading the leases: " + expired.status().message());
        return;
    }
    for (const LeaseRow& row : *expired) {
        if (row.name != kName) continue;
        auto lease = leases_.acquire(kName);
        if (!lease) {
            log_("taking over the site apply lease: " + lease.status().message());
            return;
        }
        if (lease->owner != leases_.owner()) return;  // another server was first
        if (Status s = adopt_locked(*lease); !s) {
            log_("taking over the site apply lease: " + s.message());
            (void)leases_.release(kName);  // the next scan, or another server, tries again
        }
        return;  // released at the next tick when nothing it adopted runs
    }
}

Status SiteApplyLease::adopt_locked(const LeaseRow& lease) {
    if (Status s = vms_.load(); !s) return s.context("reading the VM registry back");
    std::string running;
    for (const ApplyRecord& a : vms_.applies())
        if (a.state == "running") running += (running.empty() ? "" : ", ") + std::to_string(a.id);
    const std::string what =
        "site apply taken over by " + leases_.owner() + " from " + lease.taken_from +
        " (its lease expired): " +
        (running.empty() ? std::string("no apply of it was unfinished")
                         : "its unfinished apply " + running + " carries on here");
    log_(what);
    if (auto logged = store_.log_event(server_event(what)); !logged)
        log_("recording the site apply takeover: " + logged.status().message());
    return Status::ok();
}

}  // namespace provisioner::server
