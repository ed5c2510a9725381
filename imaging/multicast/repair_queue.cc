#include "repair_queue.h"

#include <algorithm>

namespace imaging::multicast {

RepairQueue::RepairQueue(std::uint32_t total_fragments) : last_sent_round_(total_fragments, 0) {}

std::uint64_t RepairQueue::add(std::span<const Range> ranges, std::uint32_t round,
                               std::uint32_t limit) {
    limit = std::min<std::uint32_t>(limit, std::uint32_t(last_sent_round_.size()));
    std::uint64_t before = pending_.size();
    for (const Range& r : ranges) {
        if (r.first >= limit) continue;
        std::uint32_t end =
            std::uint32_t(std::min<std::uint64_t>(limit, std::uint64_t(r.first) + r.count));
        std::uint32_t run = r.first;
        for (std::uint32_t g = r.first; g <= end; ++g) {
            bool wanted = g < end && last_sent_round_[g] != 0 && last_sent_round_[g] < round;
            if (wanted) continue;
            if (g > run) pending_.add(run, g - run);
            run = g + 1;
        }
    }
    return pending_.size() - before;
}

std::uint64_t RepairQueue::add_unsent(std::uint32_t item, std::uint32_t round) {
    if (item >= last_sent_round_.size()) return 0;
    if (last_sent_round_[item] != 0 && last_sent_round_[item] >= round) return 0;
    std::uint64_t before = pending_.size();
    pending_.add(item, 1);
    return pending_.size() - before;
}

std::optional<std::uint32_t> RepairQueue::pop() {
    auto next = pending_.next_at_or_after(cursor_);
    if (!next) next = pending_.next_at_or_after(0);
    if (!next) return std::nullopt;
    pending_.remove(Range{*next, 1});
    cursor_ = *next + 1;
    return next;
}

}  // namespace imaging::multicast
