// The sender's pacing: a token bucket at the current rate, and the rate itself adapted to the
// loss receivers report (start fast, back off multiplicatively on congestion, recover).
//
// Loss that does not change with the rate (a lossy link, the 1% or 10% of the tests) must not
// drive the rate to the floor, so congestion is loss above a baseline (the lowest loss of the
// last baseline_rounds rounds that were not congested), plus margins. Whether new loss comes
// from our rate is tested, not assumed: loss above the baseline backs the rate off, and when the
// loss measured after the backoff is no lower, it does not follow the rate: it becomes the new
// baseline and the rate is restored. Persistent congestion thus keeps backing off (every
// backoff lowers the loss), while a lossy path costs one backoff.
//
// Slow start: until the first congestion (a backoff not undone as random loss), a round
// without congestion grows the rate by slow_start (as TCP's slow start), so a fast path is
// found in a few rounds instead of the forty that recover's 6% would take from 1 to 10
// Gbit/s, lossy or not; from the first congestion on, the rules above. Not thread-safe.
#pragma once

#include <cstddef>
#include <deque>

#include "clock.h"

namespace imaging::multicast {

struct RateConfig {
    double max_bps = 10e9;   // never faster (--max-rate)
    double start_bps = 1e9;  // first rate
    double min_bps = 20e6;   // never slower
    // The bucket holds burst_seconds at the current rate, at least burst_bytes: a sender
    // whose loop wakes every few tens of microseconds (timer slack, a busy core) must be able
    // to catch up on what its rate allowed meanwhile, or the rate it reaches is the bucket
    // over its wake-up period (a fixed 96 KB bucket held a 10 Gbit/s rate to 2.3 Gbit/s).
    double burst_bytes = 64 * 1500;
    double burst_seconds = 0.001;
    double backoff = 0.75;    // rate *= backoff on congestion
    double recover = 1.06;    // rate *= recover after a round without it
    double slow_start = 2.0;  // rate *= slow_start a round, until the first congestion
    // Loss above baseline * (1 + relative_margin) + margin is congestion.
    double margin = 0.03;
    double relative_margin = 0.5;
    std::size_t baseline_rounds = 40;
    // Loss above this is never taken for the path's own: however it responds to backoffs,
    // the rate keeps backing off (a path that loses more is treated as congested).
    double max_random_loss = 0.25;
};

class RateController {
  public:
    RateController(const RateConfig& config, TimePoint now);

    double rate_bps() const { return rate_; }
    // True when `bytes` may go now (the bucket is refilled first); then call consume().
    bool may_send(std::size_t bytes, TimePoint now);
    void consume(std::size_t bytes) { tokens_ -= double(bytes); }
    // How long until `bytes` may go (or as much as the bucket holds, if it holds less).
    Duration wait_for(std::size_t bytes, TimePoint now);

    // One receiver's loss report (0..1) for the current round.
    void on_loss_report(double loss);
    // A NACK without a loss sample: something was lost, so this round is no reason to grow.
    void on_nack() { nacked_ = true; }
    // Ends a feedback round: adapts the rate to the worst loss reported in it.
    void end_round();
    // A receiver can absorb no more than `bps` (PROTOCOL.md, ABSORB): the rate drops to it
    // (never below min_bps). Once the receivers stop reporting, it doubles a round back to
    // the rate it had before the cap (unless congestion intervenes), then grows as usual.
    void cap(double bps);
    unsigned backoffs() const { return backoffs_; }
    // Until the first congestion: a backoff that the next reports did not undo.
    bool in_slow_start() const { return slow_start_; }
    // Backoffs undone because the loss did not fall with the rate (random loss found).
    unsigned random_loss_found() const { return random_loss_found_; }
    // The loss that persists whatever the rate: the baseline, once 8 rounds without congestion
    // were seen (0 before). Random loss on a path shows here; congestion does not.
    double steady_loss() const;

  private:
    void refill(TimePoint now);
    void grow();  // a round without congestion
    double bucket_bytes() const;
    RateConfig config_;
    double rate_;
    double tokens_;
    TimePoint last_refill_;
    double round_max_loss_ = 0;
    bool reported_ = false;
    bool nacked_ = false;
    std::deque<double> history_;
    int hold_rounds_ = 0;
    unsigned backoffs_ = 0;
    unsigned random_loss_found_ = 0;
    bool slow_start_ = true;
    bool slow_start_before_backoff_ = true;
    double uncapped_rate_ = 0;      // the rate before receivers capped it (0: none)
    bool testing_backoff_ = false;  // the last round backed off; its effect not judged yet
    double rate_before_backoff_ = 0;
    double loss_at_backoff_ = 0;
};

}  // namespace imaging::multicast
