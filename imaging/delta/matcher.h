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
    bool empty() const { return by_weak_.empty(); }

private:
    bool match_at(const std::uint8_t* window, std::uint64_t h, std::uint64_t offset,
                  std::vector<BlockMatch>& out) const;

    RollingHash rolling_;
    std::vector<BlockSum> wanted_;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> by_weak_;  // (weak, wanted index), sorted
    std::vector<std::uint64_t> filter_;                              // bit per top-bits value
    unsigned filter_shift_ = 0;
};

}  // namespace imaging::delta
