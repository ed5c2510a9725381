#include "loss_tracker.h"

#include <algorithm>

namespace imaging::multicast {

LossTracker::LossTracker(std::uint32_t total_fragments)
    : bits_(total_fragments, false), recovered_(total_fragments, false) {}

bool LossTracker::mark_recovered(std::uint32_t global) {
    if (!mark(global)) return false;
    recovered_[global] = true;
    return true;
}

bool LossTracker::mark(std::uint32_t global) {
    if (bits_[global]) return false;
    bits_[global] = true;
    ++received_;
    while (first_missing_ < total() && bits_[first_missing_]) ++first_missing_;
    return true;
}

void LossTracker::forget(std::uint32_t first, std::uint32_t count) {
    for (std::uint32_t g = first; g < first + count; ++g) {
        recovered_[g] = false;
        if (bits_[g]) {
            bits_[g] = false;
            --received_;
        }
    }
    first_missing_ = std::min(first_missing_, first);
}

std::uint32_t LossTracker::missing_in(std::uint32_t begin, std::uint32_t end) const {
    std::uint32_t n = 0;
    for (std::uint32_t g = begin; g < end && g < total(); ++g) n += !bits_[g];
    return n;
}

std::vector<Range> LossTracker::missing_ranges(std::uint32_t high_water, const RangeSet& skip,
                                               std::size_t max_ranges) const {
    std::vector<Range> out;
    std::uint32_t end = std::min(high_water, total());
    std::uint32_t g = first_missing_;
    while (g < end && out.size() < max_ranges) {
        std::uint32_t skipped = skip.end_of_range_at(g);
        if (skipped != g) {
            g = skipped;
            continue;
        }
        if (bits_[g]) {
            ++g;
            continue;
        }
        // A run of missing fragments, cut where the next skipped range starts.
        std::uint32_t stop = std::min(end, skip.next_at_or_after(g).value_or(end));
        std::uint32_t first = g;
        while (g < stop && !bits_[g]) ++g;
        out.push_back(Range{first, g - first});
    }
    return out;
}

std::optional<std::uint16_t> LossTracker::loss_sample(std::uint32_t high_water) {
    high_water = std::min(high_water, total());
    if (!seen_poll_) {
        // What came before this receiver joined is not a loss signal.
        seen_poll_ = true;
        sample_start_ = high_water;
        return std::nullopt;
    }
    if (high_water < sample_start_ + kMinLossWindow) return std::nullopt;
    std::uint64_t lost = 0;
    for (std::uint32_t g = sample_start_; g < high_water; ++g) lost += !bits_[g] || recovered_[g];
    auto permille = std::uint16_t(lost * 1000 / (high_water - sample_start_));
    sample_start_ = high_water;
    return permille;
}

}  // namespace imaging::multicast
