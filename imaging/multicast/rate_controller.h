// The sender's pacing: a token bucket at the current rate, and the rate itself adapted to the
// loss receivers report (start fast, back off multiplicatively on congestion, recover).
//
// Loss that does not change with the rate (a lossy link, the 1% or 10% of the tests) must not
// drive the rate to the floor, so congestion is loss above a baseline: the lowest loss seen
// over the last second of feedback rounds, plus margins. Not thread-safe.
#pragma once

#include <cstddef>
#include <deque>

#include "clock.h"

namespace imaging::multicast {

struct RateConfig {
    double max_bps = 10e9;   // never faster (--max-rate)
    double start_bps = 1e9;  // first rate
    double min_bps = 20e6;   // never slower
    double burst_bytes = 64 * 1500;
    double backoff = 0.75;  // rate *= backoff on congestion
    double recover = 1.06;  // rate *= recover after a round without it
    // Loss above baseline * (1 + relative_margin) + margin is congestion.
    double margin = 0.03;
    double relative_margin = 0.5;
    std::size_t baseline_rounds = 40;
};

class RateController {
  public:
    RateController(const RateConfig& config, TimePoint now);

    double rate_bps() const { return rate_; }
    // True when `bytes` may go now (the bucket is refilled first); then call consume().
    bool may_send(std::size_t bytes, TimePoint now);
    void consume(std::size_t bytes) { tokens_ -= double(bytes); }
    // How long until `bytes` may go.
    Duration wait_for(std::size_t bytes, TimePoint now);

    // One receiver's loss report (0..1) for the current round.
    void on_loss_report(double loss);
    // Ends a feedback round: adapts the rate to the worst loss reported in it.
    void end_round();
    unsigned backoffs() const { return backoffs_; }

  private:
    void refill(TimePoint now);
    RateConfig config_;
    double rate_;
    double tokens_;
    TimePoint last_refill_;
    double round_max_loss_ = 0;
    bool reported_ = false;
    std::deque<double> history_;
    int hold_rounds_ = 0;
    unsigned backoffs_ = 0;
};

}  // namespace imaging::multicast
