// A receiver's loss bookkeeping: which global fragments it holds, what it misses below the
// sender's high-water mark, and the loss rate it saw on first-pass data. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "packet.h"
#include "range_set.h"

namespace imaging::multicast {

class LossTracker {
  public:
    explicit LossTracker(std::uint32_t total_fragments = 0);

    std::uint32_t total() const { return std::uint32_t(bits_.size()); }
    std::uint32_t received() const { return received_; }
    std::uint32_t missing() const { return total() - received_; }
    bool has(std::uint32_t global) const { return bits_[global]; }
    // Records a fragment; false if it was already there (a duplicate).
    bool mark(std::uint32_t global);
    // Records a fragment rebuilt from repair symbols: held, but lost on the way, so it still
    // counts in loss_sample (the loss the sender sizes its proactive repairs by).
    bool mark_recovered(std::uint32_t global);
    // Forgets [first, first + count): a chunk that failed verification must come again.
    void forget(std::uint32_t first, std::uint32_t count);
    std::uint32_t missing_in(std::uint32_t begin, std::uint32_t end) const;

    // Missing fragments in [0, high_water) not in `skip`, as at most max_ranges ranges
    // (lowest first).
    std::vector<Range> missing_ranges(std::uint32_t high_water, const RangeSet& skip,
                                      std::size_t max_ranges) const;

    // Called on each POLL: the share of first-pass fragments that are missing or were rebuilt
    // from repair symbols (that is, lost on the way), in permille,
    // over the fragments sent since the last sample; nothing until that window holds at
    // least kMinLossWindow fragments (a smaller one is mostly noise).
    static constexpr std::uint32_t kMinLossWindow = 256;
    std::optional<std::uint16_t> loss_sample(std::uint32_t high_water);

  private:
    std::vector<bool> bits_;
    std::vector<bool> recovered_;
    std::uint32_t received_ = 0;
    std::uint32_t first_missing_ = 0;  // every fragment below it is held
    std::uint32_t sample_start_ = 0;
    bool seen_poll_ = false;
};

}  // namespace imaging::multicast
