// Bounds and retries every call of a PowerDriver: BMCs answer slowly, refuse sessions while
// another is open, and freeze. A call is tried up to `attempts` times while it fails with a
// retriable error (busy, unreachable, timeout), waiting `first_backoff`, then twice that, ...
// (at most `max_backoff`) between attempts, and never starts an attempt past `deadline` from
// its start (the call's overall time limit; the driver bounds each attempt). Authentication and
// protocol errors are answered at once.
//
// Thread-safe: calls on one BMC are made one at a time (a second caller waits), since many
// BMCs serve one session at a time. Time comes from the injected clock (tests use FakeClock).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>

#include "base/clock.h"
#include "provisioner/power/driver.h"

namespace provisioner::power {

struct RetryPolicy {
    int attempts = 4;
    std::chrono::milliseconds first_backoff{1'000};
    std::chrono::milliseconds max_backoff{8'000};
    std::chrono::milliseconds deadline{60'000};
};

class RetryingDriver final : public PowerDriver {
  public:
    // clock must outlive the driver.
    RetryingDriver(std::unique_ptr<PowerDriver> inner, RetryPolicy policy,
                   base::Clock& clock = base::real_clock());
    BmcOutcome power(PowerAction action) override;
    BmcOutcome status() override;
    BmcOutcome set_next_boot(BootDevice device) override;
    std::string describe() const override { return inner_->describe(); }

  private:
    template <class Call>
    BmcOutcome retry(const char* what, Call call);

    std::unique_ptr<PowerDriver> inner_;
    const RetryPolicy policy_;
    base::Clock& clock_;
    std::mutex one_at_a_time_;
};

}  // namespace provisioner::power
