#include "rate_controller.h"

#include <algorithm>
#include <utility>

namespace imaging::multicast {

RateController::RateController(const RateConfig& config, TimePoint now)
    : config_(config),
      rate_(std::clamp(config.start_bps, config.min_bps, config.max_bps)),
      tokens_(config.burst_bytes),
      last_refill_(now) {}

double RateController::bucket_bytes() const {
    return std::max(config_.burst_bytes, rate_ * config_.burst_seconds / 8);
}

void RateController::refill(TimePoint now) {
    double seconds = std::chrono::duration<double>(now - last_refill_).count();
    last_refill_ = now;
    tokens_ = std::min(bucket_bytes(), tokens_ + seconds * rate_ / 8);
}

bool RateController::may_send(std::size_t bytes, TimePoint now) {
    refill(now);
    return tokens_ >= double(bytes);
}

Duration RateController::wait_for(std::size_t bytes, TimePoint now) {
    refill(now);
    bytes = std::min<std::size_t>(bytes, std::size_t(bucket_bytes()));  // or never
    double short_by = double(bytes) - tokens_;
    if (short_by <= 0) return Duration::zero();
    return std::chrono::duration_cast<Duration>(
        std::chrono::duration<double>(short_by * 8 / rate_));
}

double RateController::steady_loss() const {
    if (history_.size() < 8) return 0;
    return *std::min_element(history_.begin(), history_.end());
}

void RateController::on_loss_report(double loss) {
    round_max_loss_ = std::max(round_max_loss_, loss);
    reported_ = true;
}

void RateController::cap(double bps) {
    const double capped = std::clamp(std::min(rate_, bps), config_.min_bps, config_.max_bps);
    if (capped < rate_) uncapped_rate_ = std::max(uncapped_rate_, rate_);
    rate_ = capped;
    tokens_ = std::min(tokens_, bucket_bytes());
}

void RateController::grow() {
    if (rate_ < uncapped_rate_) {
        // Back from a receiver's cap: the path carried the old rate, so go back to it fast.
        rate_ = std::min(uncapped_rate_, rate_ * config_.slow_start);
        return;
    }
    uncapped_rate_ = 0;
    rate_ = std::min(config_.max_bps, rate_ * (slow_start_ ? config_.slow_start : config_.recover));
}

void RateController::end_round() {
    double loss = round_max_loss_;
    round_max_loss_ = 0;
    const bool nacked = std::exchange(nacked_, false);
    const bool reported = std::exchange(reported_, false);
    if (!reported) {
        // No loss measured this round. Without NACKs nothing says the path is congested; with
        // them, loss is being repaired and the next sample will tell: hold the rate.
        if (hold_rounds_ > 0)
            --hold_rounds_;
        else if (!nacked)
            grow();
        return;
    }
    if (hold_rounds_ > 0) {
        // Reports from the rounds after a backoff still describe the old rate.
        --hold_rounds_;
        return;
    }
    double baseline = history_.empty() ? 0.0 : *std::min_element(history_.begin(), history_.end());
    if (loss > baseline * (1 + config_.relative_margin) + config_.margin) {
        if (testing_backoff_ && loss >= loss_at_backoff_ - config_.margin &&
            loss <= config_.max_random_loss) {
            // Backing off did not lower the loss: it does not follow our rate. It is the
            // path's loss; go back to the rate we had.
            testing_backoff_ = false;
            history_.assign(1, loss);
            rate_ = rate_before_backoff_;
            slow_start_ = slow_start_before_backoff_;  // it was no sign of the path's capacity
            ++random_loss_found_;
            return;
        }
        testing_backoff_ = true;
        rate_before_backoff_ = rate_;
        loss_at_backoff_ = loss;
        slow_start_before_backoff_ = slow_start_;
        slow_start_ = false;
        uncapped_rate_ = 0;  // congestion: the rate before a cap is no longer known to pass
        // The heavier the loss, the deeper the cut (down to half, as TCP's).
        double cut = std::clamp(1 - loss, 0.5, config_.backoff);
        rate_ = std::max(config_.min_bps, rate_ * cut);
        hold_rounds_ = 2;
        ++backoffs_;
        return;
    }
    testing_backoff_ = false;
    history_.push_back(loss);
    if (history_.size() > config_.baseline_rounds) history_.pop_front();
    grow();
}

}  // namespace imaging::multicast
