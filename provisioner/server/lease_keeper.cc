#include "lease_keeper.h"

#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <cstdio>
#include <random>

namespace provisioner::server {

LeaseKeeper::LeaseKeeper(Store& store, base::Clock& clock, std::string owner,
                         std::chrono::milliseconds lease_time)
    : store_(store), clock_(clock), owner_(std::move(owner)), lease_time_(lease_time) {}

Timestamp LeaseKeeper::wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               clock_.wall_now().time_since_epoch())
        .count();
}

Result<LeaseRow> LeaseKeeper::acquire(const std::string& name) {
    const Timestamp now = wall_ms();
    auto lease = store_.acquire_lease(name, owner_, now, now + lease_time_.count());
    if (!lease) return lease;
    std::lock_guard lock(mu_);
    if (lease->owner == owner_)
        held_.insert(name);
    else
        held_.erase(name);
    return lease;
}

Status LeaseKeeper::release(const std::string& name) {
    {
        std::lock_guard lock(mu_);
        held_.erase(name);
    }
    return store_.release_lease(name, owner_);
}

bool LeaseKeeper::holds(const std::string& name) const {
    std::lock_guard lock(mu_);
    return held_.contains(name);
}

Result<std::vector<std::string>> LeaseKeeper::renew_if_due() {
    const auto now = clock_.now();
    {
        std::lock_guard lock(mu_);
        if (renewed_at_ && now - *renewed_at_ < lease_time_ / 3) return std::vector<std::string>{};
    }
    auto still = store_.renew_leases(owner_, wall_ms() + lease_time_.count());
    if (!still) return still.status();  // tried again at the next call
    std::lock_guard lock(mu_);
    renewed_at_ = now;
    std::vector<std::string> lost;
    std::set_difference(held_.begin(), held_.end(), still->begin(), still->end(),
                        std::back_inserter(lost));
    for (const auto& name : lost) held_.erase(name);
    return lost;
}

Result<std::vector<LeaseRow>> LeaseKeeper::expired(const std::string& prefix) {
    auto all = store_.list_leases();
    if (!all) return all.status();
    const Timestamp now = wall_ms();
    std::vector<LeaseRow> out;
    for (LeaseRow& row : *all)
        if (row.name.starts_with(prefix) && row.owner != owner_ && row.expires_at <= now)
            out.push_back(std::move(row));
    return out;
}

std::string deployment_lease(std::int64_t id) {
    return kDeploymentLeasePrefix + std::to_string(id);
}

std::int64_t deployment_of_lease(const std::string& name) {
    const std::string_view prefix = kDeploymentLeasePrefix;
    if (!name.starts_with(prefix) || name.size() == prefix.size() || name.size() > prefix.size() + 18)
        return 0;
    std::int64_t id = 0;
    for (char c : name.substr(prefix.size())) {
        if (c < '0' || c > '9') return 0;
        id = id * 10 + (c - '0');
    }
    return id;
}

std::string make_server_id(const std::string& name) {
    char host[256] = {};
    if (!name.empty())
        std::snprintf(host, sizeof host, "%s", name.c_str());
    else if (gethostname(host, sizeof host - 1) != 0 || !host[0])
        std::snprintf(host, sizeof host, "server");
    std::random_device random;
    char tail[16];
    std::snprintf(tail, sizeof tail, "%06x", unsigned(random()) & 0xffffff);
    return std::string(host) + "-" + std::to_string(getpid()) + "-" + tail;
}

}  // namespace provisioner::server
