// A fake BMC for the power tests: a scripted sequence of outcomes (then success, or always one
// error), the calls it got, and a power state that on/off/cycle change.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "provisioner/power/driver.h"

struct FakeBmc {
    std::mutex mu;
    std::deque<provisioner::power::BmcError> scripted;
    std::optional<provisioner::power::BmcError> forever;
    std::vector<std::string> log;
    provisioner::power::PowerState state = provisioner::power::PowerState::off;
    std::string next_boot = "none";
    std::string name = "bmc-1";
    // Each attempt advances this clock by attempt_takes (a driver's own time limit spent).
    base::FakeClock* clock = nullptr;
    std::chrono::milliseconds attempt_takes{0};
    // Real time each call takes, slept outside the lock (a BMC slower than its caller waits).
    std::chrono::milliseconds really_takes{0};

    void script(std::vector<provisioner::power::BmcError> errors) {
        std::lock_guard lock(mu);
        scripted.assign(errors.begin(), errors.end());
    }
    void always(provisioner::power::BmcError e) {
        std::lock_guard lock(mu);
        forever = e;
    }
    std::vector<std::string> calls() {
        std::lock_guard lock(mu);
        return log;
    }
    // Records the call; the error it must fail with (none: it succeeds).
    provisioner::power::BmcError take(const std::string& call) {
        if (really_takes.count() > 0) std::this_thread::sleep_for(really_takes);
        std::lock_guard lock(mu);
        log.push_back(call);
        if (clock) clock->advance(attempt_takes);
        if (forever) return *forever;
        if (scripted.empty()) return provisioner::power::BmcError::none;
        auto e = scripted.front();
        scripted.pop_front();
        return e;
    }
};

class FakeDriver final : public provisioner::power::PowerDriver {
  public:
    explicit FakeDriver(std::shared_ptr<FakeBmc> bmc) : bmc_(std::move(bmc)) {}
    provisioner::power::BmcOutcome power(provisioner::power::PowerAction a) override {
        using namespace provisioner::power;
        if (auto e = bmc_->take(std::string("power ") + to_string(a)); e != BmcError::none)
            return BmcOutcome::failure(e, std::string("fake says ") + to_string(e));
        std::lock_guard lock(bmc_->mu);
        bmc_->state = a == PowerAction::off ? PowerState::off : PowerState::on;
        return {};
    }
    provisioner::power::BmcOutcome status() override {
        using namespace provisioner::power;
        if (auto e = bmc_->take("status"); e != BmcError::none)
            return BmcOutcome::failure(e, std::string("fake says ") + to_string(e));
        BmcOutcome out;
        std::lock_guard lock(bmc_->mu);
        out.state = bmc_->state;
        return out;
    }
    provisioner::power::BmcOutcome set_next_boot(provisioner::power::BootDevice d) override {
        using namespace provisioner::power;
        if (auto e = bmc_->take(std::string("boot ") + to_string(d)); e != BmcError::none)
            return BmcOutcome::failure(e, std::string("fake says ") + to_string(e));
        std::lock_guard lock(bmc_->mu);
        bmc_->next_boot = to_string(d);
        return {};
    }
    std::string describe() const override { return "fake " + bmc_->name; }

  private:
    std::shared_ptr<FakeBmc> bmc_;
};
