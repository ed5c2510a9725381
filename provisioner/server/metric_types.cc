#include "metric_types.h"

#include <cmath>
#include <stdexcept>

namespace provisioner::server {

Histogram::Histogram(std::span<const double> bounds) : bounds_(bounds.begin(), bounds.end()) {
    if (bounds_.size() > kMaxBuckets) throw std::invalid_argument("histogram: too many buckets");
    for (std::size_t i = 0; i < bounds_.size(); ++i)
        if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1]))
            throw std::invalid_argument("histogram: bounds must be finite and ascending");
}

void Histogram::observe(double seconds) {
    if (std::isnan(seconds)) return;
    std::size_t i = 0;
    while (i < bounds_.size() && seconds > bounds_[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    const double ns = seconds > 0 ? std::round(seconds * 1e9) : 0;
    // A duration past 584 years does not fit; it is counted but adds nothing to the sum.
    if (ns < 1.8e19) sum_nanoseconds_.fetch_add(std::uint64_t(ns), std::memory_order_relaxed);
}

HistogramSnapshot Histogram::snapshot() const {
    HistogramSnapshot s;
    s.bounds = bounds_;
    s.cumulative.resize(bounds_.size() + 1);
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        running += buckets_[i].load(std::memory_order_relaxed);
        s.cumulative[i] = running;
    }
    // The count is the buckets' total as read, so +Inf always equals _count.
    s.count = running;
    s.sum = double(sum_nanoseconds_.load(std::memory_order_relaxed)) / 1e9;
    return s;
}

std::span<const double> latency_buckets() {
    static constexpr double kBounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25,  0.5,    1,     2.5,  5,     10};
    return kBounds;
}

}  // namespace provisioner::server
