#include "rate_controller.h"

#include <algorithm>
#include <utility>

namespace imaging::multicast {

RateController::RateController(const RateConfig& config, TimePoint now)
    : config_(config),
      rate_(std::clamp(config.start_bps, config.min_bps, config.max_bps)),
      tokens_(config.burst_bytes),
      last_refill_(now) {}

void RateController::refill(TimePoint now) {
    double seconds = std::chrono::duration<double>(now - last_refill_).count();
    last_refill_ = now;
    tokens_ = std::min(config_.burst_bytes, tokens_ + seconds * rate_ / 8);
}

bool RateController::may_send(std::size_t bytes, TimePoint now) {
    refill(now);
    return tokens_ >= double(bytes);
}

Duration RateController::wait_for(std::size_t bytes, TimePoint now) {
    refill(now);
    double short_by = double(bytes) - tokens_;
    if (short_by <= 0) return Duration::zero();
    return std::chrono::duration_cast<Duration>(
        std::chrono::duration<double>(short_by * 8 / rate_));
}

void RateController::on_loss_report(double loss) {
    round_max_loss_ = std::max(round_max_loss_, loss);
    reported_ = true;
}

void RateController::end_round() {
    double loss = round_max_loss_;
    round_max_loss_ = 0;
    if (!std::exchange(reported_, false)) {
        // No loss measured this round: nothing says the path is congested.
        if (hold_rounds_ > 0)
            --hold_rounds_;
        else
            rate_ = std::min(config_.max_bps, rate_ * config_.recover);
        return;
    }
    double baseline = history_.empty() ? 0.0 : *std::min_element(history_.begin(), history_.end());
    history_.push_back(loss);
    if (history_.size() > config_.baseline_rounds) history_.pop_front();
    if (hold_rounds_ > 0) {
        // Reports from the round after a backoff still describe the old rate.
        --hold_rounds_;
        return;
    }
    if (loss > baseline * (1 + config_.relative_margin) + config_.margin) {
        rate_ = std::max(config_.min_bps, rate_ * config_.backoff);
        hold_rounds_ = 2;
        ++backoffs_;
    } else {
        rate_ = std::min(config_.max_bps, rate_ * config_.recover);
    }
}

}  // namespace imaging::multicast
