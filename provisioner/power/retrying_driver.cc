#include "provisioner/power/retrying_driver.h"

#include <algorithm>

namespace provisioner::power {

RetryingDriver::RetryingDriver(std::unique_ptr<PowerDriver> inner, RetryPolicy policy,
                               base::Clock& clock)
    : inner_(std::move(inner)), policy_(policy), clock_(clock) {}

template <class Call>
BmcOutcome RetryingDriver::retry(const char* what, Call call) {
    std::lock_guard lock(one_at_a_time_);
    const auto start = clock_.now();
    auto backoff = policy_.first_backoff;
    BmcOutcome last;
    int attempt = 0;
    while (true) {
        ++attempt;
        last = call();
        last.attempts = attempt;
        if (last.ok() || !retriable(last.error) || attempt >= policy_.attempts) break;
        if (clock_.now() - start + backoff >= policy_.deadline) {
            last.message += " (gave up: the next attempt would pass the " +
                            std::to_string(policy_.deadline.count() / 1000) + " s limit)";
            break;
        }
        clock_.sleep_for(backoff);
        backoff = std::min(backoff * 2, policy_.max_backoff);
    }
    if (!last.ok())
        last.message = std::string(what) + " on " + inner_->describe() + ": " + last.message +
                       (attempt > 1 ? " (after " + std::to_string(attempt) + " attempts)" : "");
    return last;
}

BmcOutcome RetryingDriver::power(PowerAction action) {
    return retry((std::string("power ") + to_string(action)).c_str(),
                 [&] { return inner_->power(action); });
}

BmcOutcome RetryingDriver::status() {
    return retry("power status", [&] { return inner_->status(); });
}

BmcOutcome RetryingDriver::set_next_boot(BootDevice device) {
    return retry((std::string("next boot ") + to_string(device)).c_str(),
                 [&] { return inner_->set_next_boot(device); });
}

}  // namespace provisioner::power
