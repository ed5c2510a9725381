#include "matcher.h"

#include <algorithm>
#include <bit>

namespace imaging::delta {

BlockMatcher::BlockMatcher(std::vector<BlockSum> wanted) : rolling_(kBlockSize), wanted_(std::move(wanted)) {
    by_weak_.reserve(wanted_.size());
    for (std::uint32_t i = 0; i < wanted_.size(); ++i) by_weak_.emplace_back(wanted_[i].weak, i);
    std::sort(by_weak_.begin(), by_weak_.end());
    // ~16 filter bits per wanted block keeps false hits near 6%; at most 2^24 bits (2 MiB), at
    // least 2^16, so the filter stays in cache while the scan streams through the data.
    unsigned bits = std::clamp<unsigned>(std::bit_width(wanted_.size() * 16), 16, 24);
    filter_.assign((std::size_t(1) << bits) / 64, 0);
    filter_shift_ = 64 - bits;
    // The filter is indexed by the top bits of the 64-bit rolling value; weak is its top 32 bits.
    for (const auto& w : wanted_) {
        std::uint64_t top = std::uint64_t(w.weak) >> (32 - bits);
        filter_[top / 64] |= std::uint64_t(1) << (top % 64);
    }
}

bool BlockMatcher::match_at(const std::uint8_t* window, std::uint64_t h, std::uint64_t offset,
                            std::vector<BlockMatch>& out) const {
    std::uint32_t weak = RollingHash::weak(h);
    auto it = std::lower_bound(by_weak_.begin(), by_weak_.end(), std::pair{weak, std::uint32_t(0)});
    if (it == by_weak_.end() || it->first != weak) return false;
    std::uint64_t strong = strong_hash({window, kBlockSize});
    bool found = false;
    for (; it != by_weak_.end() && it->first == weak; ++it) {
        if (wanted_[it->second].strong == strong) {
            out.push_back({it->second, offset});
            found = true;
        }
    }
    return found;
}

void BlockMatcher::scan(std::span<const std::uint8_t> data, std::size_t starts, std::uint64_t base,
                        std::vector<BlockMatch>& out) const {
    if (by_weak_.empty() || data.size() < kBlockSize) return;
    starts = std::min(starts, data.size() - kBlockSize + 1);
    const std::uint8_t* p = data.data();
    std::size_t i = 0;
    std::uint64_t h = rolling_.of({p, kBlockSize});
    while (i < starts) {
        std::uint64_t top = h >> filter_shift_;
        if ((filter_[top / 64] >> (top % 64)) & 1) {
            if (match_at(p + i, h, base + i, out)) {
                i += kBlockSize;
                if (i >= starts) break;
                h = rolling_.of({p + i, kBlockSize});
                continue;
            }
        }
        if (i + 1 >= starts) break;
        h = rolling_.roll(h, p[i], p[i + kBlockSize]);
        ++i;
    }
}

}  // namespace imaging::delta
