// The server's own counters and histograms, counted on the request path without a lock: each
// is a set of relaxed atomics, so that counting costs an atomic add and nothing waits. A
// reader (the /metrics scrape) takes a snapshot that may be a few increments behind a writer
// running at the same moment, never a torn or decreasing one.
//
// Thread-safe: add/observe and snapshot may run on any number of threads at once. Neither
// type moves or copies (atomics); hold them where they live (ServerMetrics' arrays).
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

namespace provisioner::server {

// A monotonic count (Prometheus' counter).
class Counter {
  public:
    void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::uint64_t> value_{0};
};

// A snapshot of a Histogram as Prometheus writes one: cumulative counts per upper bound (the
// last is +Inf and equals count), and the sum of the observed values.
struct HistogramSnapshot {
    std::vector<double> bounds;           // finite upper bounds, ascending (+Inf not listed)
    std::vector<std::uint64_t> cumulative;  // bounds.size() + 1 entries; the last is count
    std::uint64_t count = 0;
    double sum = 0;
};

// Observations of a duration in seconds, by fixed buckets (Prometheus' histogram: a value v
// falls in the first bucket whose bound is >= v). The sum is kept in whole nanoseconds, so it
// is exact for durations and needs no floating-point compare-and-swap.
class Histogram {
  public:
    // bounds: finite, ascending, at most kMaxBuckets of them.
    explicit Histogram(std::span<const double> bounds);
    static constexpr std::size_t kMaxBuckets = 24;

    void observe(double seconds);
    HistogramSnapshot snapshot() const;

  private:
    std::vector<double> bounds_;
    // One per bound, then +Inf's; each counts its own bucket (made cumulative by snapshot()).
    std::atomic<std::uint64_t> buckets_[kMaxBuckets + 1] = {};
    std::atomic<std::uint64_t> sum_nanoseconds_{0};
};

// Request latency buckets, in seconds: from a cached answer (1 ms) to a 10 s import check.
std::span<const double> latency_buckets();

}  // namespace provisioner::server
