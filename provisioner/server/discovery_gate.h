// Bounds on discovery: every unknown MAC that PXE-boots or says a discovery hello would
// otherwise become a host, an event and a dnsmasq file, without limit. The gate admits new
// discovered hosts from a token bucket (discovery_per_minute, holding one minute's worth), caps
// how many wait in state discovered (max_discovered), and removes those nobody accepted
// discovered_expiry after they appeared.
//
// Thread-safe: discover() and expire() may run on every HTTP thread and the orchestrator's at
// once; one mutex orders the count, the check and the insert, so the cap holds exactly.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>

#include "base/clock.h"
#include "provisioner/store.h"

namespace provisioner::server {

class HostObserver;  // api.h
struct ServerConfig;

struct DiscoveryLimits {
    unsigned per_minute = 60;  // 0: no discovery at all
    std::size_t max_discovered = 256;
    std::chrono::milliseconds expiry{std::chrono::hours(24)};

    static DiscoveryLimits from(const ServerConfig& config);
};

// What discover() did: the host, or why none was made.
struct Discovery {
    Result<Host> host;
    bool refused = false;  // over the rate or the cap: host.status() says which; nothing made
};

class DiscoveryGate {
  public:
    // The rate and the expiry follow clock's wall time (hosts' created_at is wall time too);
    // clock must outlive the gate.
    explicit DiscoveryGate(DiscoveryLimits limits, base::Clock& clock = base::real_clock());

    // The host with mac; an unknown one is recorded as discovered ("discovered-<hex>", why as
    // the event's reason) and told to observer, when the rate and the cap allow. Hosts past
    // their expiry are removed first, so that they do not count against the cap.
    Discovery discover(Store& store, HostObserver& observer, const Mac& mac,
                       const std::string& why);

    // Removes every host still discovered (never accepted) that appeared more than the expiry
    // ago, with an event each, and tells observer. Returns how many.
    Result<std::size_t> expire(Store& store, HostObserver& observer);

  private:
    Result<std::size_t> expire_locked(Store& store, HostObserver& observer, Timestamp now);
    bool take_token(Timestamp now);
    Timestamp now_ms();

    const DiscoveryLimits limits_;
    base::Clock& clock_;
    std::mutex mu_;
    double tokens_;
    Timestamp refilled_at_ = 0;
};

}  // namespace provisioner::server
