// The sender's erasure-code repair selection (PROTOCOL.md, "Repair"): how many repair symbols
// each parity block still owes, and which index each next one takes. A receiver asks for
// `count` symbols of a block; requests from many receivers for one block merge into the largest
// (Reed-Solomon: any e distinct symbols rebuild any e losses, so the largest need serves every
// smaller one), and a request answering POLL r is ignored when the block's repairs went out in
// round >= r (they were in flight when the receiver looked). Every symbol of a block gets a new
// index, so symbols sent proactively and on request never repeat one another. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

namespace imaging::multicast {

struct RepairSlot {
    std::uint32_t block = 0;  // the block's first global fragment
    std::uint32_t index = 0;  // the repair symbol's index, < kMaxRepairIndex
};

class FecQueue {
  public:
    // A receiver's request answering POLL `round`. Returns how many symbols were added.
    std::uint32_t request(std::uint32_t block, std::uint32_t count, std::uint32_t round);
    // Symbols sent without being asked (proactive FEC), right after the block's data.
    void add_proactive(std::uint32_t block, std::uint32_t count);
    // The next symbol to send, lowest pending block first from where the last one left off.
    std::optional<RepairSlot> pop(std::uint32_t round);

    bool empty() const { return pending_.empty(); }
    std::uint64_t size() const { return pending_total_; }

  private:
    struct Block {
        std::uint32_t next_index = 0;
        std::uint32_t last_round = 0;  // 0: no symbol sent yet
    };
    std::map<std::uint32_t, Block> blocks_;
    std::map<std::uint32_t, std::uint32_t> pending_;  // block -> symbols owed
    std::uint64_t pending_total_ = 0;
    std::uint32_t cursor_ = 0;
};

}  // namespace imaging::multicast
