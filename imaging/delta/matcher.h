// Finds blocks of the new image in old data at any byte offset (rsync's matching, done on the
// side that holds the old data): a rolling weak checksum at every offset, a bit filter that
// rejects almost every offset in one memory access, then the strong hash on a weak hit.
// Immutable after construction; scan() may run on several threads at once.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "block_signature.h"
#include "rolling_hash.h"

namespace imaging::delta {

struct BlockMatch {
    std::uint32_t wanted = 0;  // index into the wanted list given to the matcher
    std::uint64_t offset = 0;  // where its bytes are in the scanned data
};

class BlockMatcher {
public:
    // wanted: sums of full kBlockSize blocks; duplicates allowed (each gets its own matches).
    explicit BlockMatcher(std::vector<BlockSum> wanted);

    // Scans windows starting in data[0, starts) (data holds starts + kBlockSize - 1 bytes or
    // fewer at the end), reporting offsets as base + position. After a match the scan skips
    // a block ahead, as rsync does.
    void scan(std::span<const std::uint8_t> data, std::size_t starts, std::uint64_t base,
              std::vector<BlockMatch>& out) const;
    bool empty() const { return wanted_.empty(); }

private:
    bool match_at(const std::uint8_t* window, std::uint64_t h, std::uint64_t offset,
                  std::vector<BlockMatch>& out) const;

    static constexpr std::uint32_t kEmpty = 0xffffffffu;
    struct Slot {
        std::uint32_t weak = 0;
        std::uint32_t wanted = kEmpty;
    };

    RollingHash rolling_;
    std::vector<BlockSum> wanted_;
    std::vector<Slot> table_;             // open addressing by weak, linear probing
    std::uint32_t table_mask_ = 0;
    std::vector<std::uint64_t> filter_;  // a bit per value of the rolling hash's top bits
    unsigned filter_shift_ = 0;
};

}  // namespace imaging::delta
