#include "discovery_gate.h"

#include <algorithm>

#include "api.h"
#include "config.h"

namespace provisioner::server {

namespace {

constexpr double kMinuteMs = 60'000;

std::string discovered_name(const Mac& mac) {
    std::string name = "discovered-";
    for (char c : mac.str())
        if (c != ':') name += c;
    return name;
}

}  // namespace

DiscoveryLimits DiscoveryLimits::from(const ServerConfig& config) {
    return {config.discovery_per_minute, config.max_discovered,
            std::chrono::duration_cast<std::chrono::milliseconds>(config.discovered_expiry)};
}

DiscoveryGate::DiscoveryGate(DiscoveryLimits limits, base::Clock& clock)
    : limits_(limits), clock_(clock), tokens_(limits.per_minute) {}

Timestamp DiscoveryGate::now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               clock_.wall_now().time_since_epoch())
        .count();
}

bool DiscoveryGate::take_token(Timestamp now) {
    if (refilled_at_ == 0) refilled_at_ = now;
    // A clock that steps back refills nothing (and never drains the bucket).
    const double elapsed = double(std::max<Timestamp>(0, now - refilled_at_));
    refilled_at_ = std::max(refilled_at_, now);
    tokens_ = std::min<double>(limits_.per_minute,
                               tokens_ + elapsed * limits_.per_minute / kMinuteMs);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
}

Discovery DiscoveryGate::discover(Store& store, HostObserver& observer, const Mac& mac,
                                  const std::string& why) {
    auto host = store.find_host(mac);
    if (host || host.status().code() != Code::not_found) return {host};
    std::lock_guard lock(mu_);
    host = store.find_host(mac);  // another request may have discovered it meanwhile
    if (host || host.status().code() != Code::not_found) return {host};
    const Timestamp now = now_ms();
    if (auto expired = expire_locked(store, observer, now); !expired) return {expired.status()};
    HostFilter waiting;
    waiting.state = HostState::discovered;
    auto count = store.count_hosts(waiting);
    if (!count) return {count.status()};
    if (std::size_t(*count) >= limits_.max_discovered)
        return {Status::error(Code::conflict,
                              "discovery is full: " + std::to_string(*count) +
                                  " hosts wait in state discovered (--max-discovered " +
                                  std::to_string(limits_.max_discovered) +
                                  "); accept or remove some, or wait for them to expire"),
                true};
    if (!take_token(now))
        return {Status::error(Code::conflict,
                              "too many unknown machines: discovery is limited to " +
                                  std::to_string(limits_.per_minute) +
                                  " new hosts a minute (--discovery-rate); try again later"),
                true};
    auto added =
        store.add_host(HostSpec{mac, discovered_name(mac), "", ""}, HostState::discovered, why);
    if (added) observer.host_changed(*added);
    return {added};
}

Result<std::size_t> DiscoveryGate::expire(Store& store, HostObserver& observer) {
    std::lock_guard lock(mu_);
    return expire_locked(store, observer, now_ms());
}

Result<std::size_t> DiscoveryGate::expire_locked(Store& store, HostObserver& observer,
                                                 Timestamp now) {
    HostFilter waiting;
    waiting.state = HostState::discovered;
    auto hosts = store.list_hosts(waiting);
    if (!hosts) return hosts.status();
    std::size_t removed = 0;
    for (const Host& h : *hosts) {
        if (now - h.created_at <= limits_.expiry.count()) continue;
        // Removed only if still discovered: an operator may accept it this very moment.
        bool gone = false;
        Status s = store.transaction([&]() -> Status {
            auto current = store.get_host(h.id);
            if (!current) return current.status().code() == Code::not_found ? Status::ok()
                                                                            : current.status();
            if (current->state != HostState::discovered) return Status::ok();
            if (Status r = store.remove_host(h.id); !r) return r;
            gone = true;
            return Status::ok();
        });
        if (!s) return s;
        if (!gone) continue;
        observer.host_removed(h);
        store.log_event(server_event("discovered host " + h.name + " (" + h.mac.str() +
                                     ") removed: nobody accepted it within " +
                                     std::to_string(limits_.expiry.count() / 1000) + " s"));
        ++removed;
    }
    return removed;
}

}  // namespace provisioner::server
