#include "host_monitor.h"

#include <algorithm>
#include <string>

namespace provisioner::server {

HostMonitor::HostMonitor(Store& store, base::Clock& clock, std::chrono::seconds interval)
    : store_(store), clock_(clock), interval_(std::max(interval, std::chrono::seconds(1))) {}

void HostMonitor::watch(HostId host) {
    std::lock_guard<std::mutex> lock(mu_);
    last_seen_[host] = clock_.now();
}

Status HostMonitor::reported(const Host& host, std::optional<wire::HostMetrics> metrics) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        last_seen_[host.id] = clock_.now();
        if (metrics) metrics_[host.id] = std::move(*metrics);
    }
    if (host.state != HostState::unreachable) return Status::ok();
    auto moved = store_.transition(host.id, HostState::ready, "its Dom0 agent reports again");
    // Another report may have moved it first: that is the same outcome.
    if (!moved && moved.status().code() == Code::illegal_transition) return Status::ok();
    return moved.status();
}

std::vector<HostId> HostMonitor::check() {
    const auto now = clock_.now();
    std::vector<HostId> silent;
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& [host, seen] : last_seen_)
            if (now - seen >= bound()) silent.push_back(host);
    }
    std::vector<HostId> moved;
    for (HostId id : silent) {
        auto host = store_.get_host(id);
        if (!host) {
            if (host.status().code() == Code::not_found) {
                std::lock_guard<std::mutex> lock(mu_);
                last_seen_.erase(id);
                metrics_.erase(id);
            }
            continue;
        }
        if (host->state != HostState::ready) continue;
        {
            std::lock_guard<std::mutex> lock(mu_);  // a report may have come in meanwhile
            if (clock_.now() - last_seen_[id] < bound()) continue;
        }
        const std::string reason = "no report from its Dom0 agent for " +
                                   std::to_string(bound().count()) + " s (" +
                                   std::to_string(kMissedHeartbeats) + " heartbeat intervals of " +
                                   std::to_string(interval_.count()) + " s)";
        if (store_.transition(id, HostState::unreachable, reason)) moved.push_back(id);
    }
    return moved;
}

std::map<HostId, wire::HostMetrics> HostMonitor::latest_metrics() const {
    std::lock_guard<std::mutex> lock(mu_);
    return metrics_;
}

}  // namespace provisioner::server
