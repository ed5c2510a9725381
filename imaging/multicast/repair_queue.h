// The sender's repair selection: the union of the fragments receivers NACK, minus those it
// has re-sent since the receiver looked (a NACK answering POLL r ignores fragments last sent
// in round >= r: the receiver could not have seen them yet, they are in flight). Each
// fragment is repaired once however many receivers ask for it. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "packet.h"
#include "range_set.h"

namespace imaging::multicast {

class RepairQueue {
  public:
    explicit RepairQueue(std::uint32_t total_fragments);

    // Adds the NACKed fragments below `limit` (what has been sent at least once) that were not
    // re-sent in round >= `round`. Returns how many new fragments were queued.
    std::uint64_t add(std::span<const Range> ranges, std::uint32_t round, std::uint32_t limit);
    // The same for items that need not have been sent before (parity blocks): only those
    // sent in round >= `round` are skipped.
    std::uint64_t add_unsent(std::uint32_t item, std::uint32_t round);
    // The next fragment to repair, in ascending order from where the last one left off.
    std::optional<std::uint32_t> pop();
    // Records that a fragment went out (first pass or repair) in round `round`.
    void note_sent(std::uint32_t global, std::uint32_t round) { last_sent_round_[global] = round; }

    bool empty() const { return pending_.empty(); }
    std::uint64_t size() const { return pending_.size(); }

  private:
    RangeSet pending_;
    std::vector<std::uint32_t> last_sent_round_;  // 0: never sent
    std::uint32_t cursor_ = 0;
};

}  // namespace imaging::multicast
