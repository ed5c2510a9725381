// Heartbeats of the Dom0 agents, and what each last said about its host. Every Dom0 report
// (POST /api/v1/agent/vms) is a heartbeat; the answer tells the agent the interval. A ready
// host silent for kMissedHeartbeats intervals becomes unreachable (a lifecycle transition, so
// an event with its reason), and goes back to ready, with an event, at its next report.
// Only hosts whose Dom0 agent has reported (since this server started, or before it: the
// store's host_reports) are watched; after a restart each gets the full bound from then.
// Time comes from an injected base::Clock, so tests move a FakeClock instead of sleeping.
// Thread-safe: reports arrive on the API's workers while check() runs on the server's tick.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "provisioner/store.h"
#include "provisioner/wire/host_metrics.h"

namespace provisioner::server {

class HostMonitor {
  public:
    static constexpr int kMissedHeartbeats = 3;

    // store and clock must outlive this. interval: at least one second.
    HostMonitor(Store& store, base::Clock& clock, std::chrono::seconds interval);

    std::chrono::seconds interval() const { return interval_; }
    // How long a host may be silent before it is unreachable.
    std::chrono::seconds bound() const { return interval_ * kMissedHeartbeats; }

    // Watches host from now (a server starting with its stored reports).
    void watch(HostId host);
    // host's Dom0 agent reported (with its metrics when it sent them). An unreachable host
    // goes back to ready; the error is the store's (the report itself stands).
    Status reported(const Host& host, std::optional<wire::HostMetrics> metrics);
    // Ready hosts silent past bound() become unreachable; returns those moved. A host whose
    // state changed meanwhile (re-imaged, retired) is left alone.
    std::vector<HostId> check();

    // Each host's latest metrics (hosts that never sent any are absent).
    std::map<HostId, wire::HostMetrics> latest_metrics() const;

  private:
    Store& store_;
    base::Clock& clock_;
    const std::chrono::seconds interval_;
    mutable std::mutex mu_;
    std::map<HostId, base::Clock::time_point> last_seen_;
    std::map<HostId, wire::HostMetrics> metrics_;
};

}  // namespace provisioner::server
