#include "fec_queue.h"

#include <algorithm>

#include "erasure_code.h"

namespace imaging::multicast {

std::uint32_t FecQueue::request(std::uint32_t block, std::uint32_t count, std::uint32_t round) {
    count = std::min(count, kParityBlock);
    auto known = blocks_.find(block);
    if (known != blocks_.end() && known->second.last_round >= round) return 0;
    std::uint32_t& owed = pending_[block];
    std::uint32_t added = count > owed ? count - owed : 0;
    owed += added;
    pending_total_ += added;
    if (owed == 0) pending_.erase(block);
    return added;
}

void FecQueue::add_proactive(std::uint32_t block, std::uint32_t count) {
    if (count == 0) return;
    pending_[block] += count;
    pending_total_ += count;
}

std::optional<RepairSlot> FecQueue::pop(std::uint32_t round) {
    auto it = pending_.lower_bound(cursor_);
    if (it == pending_.end()) it = pending_.begin();
    if (it == pending_.end()) return std::nullopt;
    Block& b = blocks_[it->first];
    RepairSlot slot{it->first, b.next_index};
    b.next_index = (b.next_index + 1) % kMaxRepairIndex;
    b.last_round = round;
    --pending_total_;
    if (--it->second == 0) {
        cursor_ = it->first + 1;
        pending_.erase(it);
    } else {
        cursor_ = it->first;
    }
    return slot;
}

}  // namespace imaging::multicast
