#include "matcher.h"

#include <algorithm>
#include <bit>

namespace imaging::delta {

BlockMatcher::BlockMatcher(std::vector<BlockSum> wanted) : rolling_(kBlockSize), wanted_(std::move(wanted)) {
    // Almost every offset of old data matches nothing, so the filter decides the scan's speed:
    // 128 bits per wanted block (at least 2^20, at most 2^26 bits = 8 MiB) lets through under
    // 1% of offsets, and its lookups do not feed the rolling arithmetic, so the CPU overlaps
    // them with it even when the filter is larger than the L2 cache.
    unsigned bits = std::clamp<unsigned>(std::bit_width(wanted_.size()) + 7, 20, 26);
    filter_.assign((std::size_t(1) << bits) / 64, 0);
    filter_shift_ = 64 - bits;
    std::size_t capacity = std::bit_ceil(std::max<std::size_t>(16, wanted_.size() * 2));
    table_.assign(capacity, {});
    table_mask_ = std::uint32_t(capacity - 1);
    for (std::uint32_t i = 0; i < wanted_.size(); ++i) {
        // The filter is indexed by the rolling value's top bits; weak is its top 32 bits.
        std::uint64_t top = std::uint64_t(wanted_[i].weak) >> (32 - bits);
        filter_[top / 64] |= std::uint64_t(1) << (top % 64);
        std::uint32_t slot = wanted_[i].weak & table_mask_;
        while (table_[slot].wanted != kEmpty) slot = (slot + 1) & table_mask_;
        table_[slot] = {wanted_[i].weak, i};
    }
}

bool BlockMatcher::match_at(const std::uint8_t* window, std::uint64_t h, std::uint64_t offset,
                            std::vector<BlockMatch>& out) const {
    const std::uint32_t weak = RollingHash::weak(h);
    bool found = false, hashed = false;
    std::uint64_t strong = 0;
    for (std::uint32_t slot = weak & table_mask_; table_[slot].wanted != kEmpty; slot = (slot + 1) & table_mask_) {
        if (table_[slot].weak != weak) continue;
        if (!hashed) strong = strong_hash({window, kBlockSize}), hashed = true;
        if (wanted_[table_[slot].wanted].strong == strong) {
            out.push_back({table_[slot].wanted, offset});
            found = true;
        }
    }
    return found;
}

namespace {

// One position of the scan: its offset in the data, the rolling hash there, and where it stops.
struct Lane {
    std::size_t i, end;
    std::uint64_t h;
};

}  // namespace

void BlockMatcher::scan(std::span<const std::uint8_t> data, std::size_t starts, std::uint64_t base,
                        std::vector<BlockMatch>& out) const {
    if (wanted_.empty() || data.size() < kBlockSize) return;
    starts = std::min(starts, data.size() - kBlockSize + 1);
    const std::uint8_t* p = data.data();
    // Each step of a rolling hash waits for the previous one (multiply, then add); two lanes
    // over the two halves of the data give the CPU two independent chains to overlap.
    const std::size_t mid = starts / 2;
    Lane lanes[2] = {{0, mid, 0}, {mid, starts, 0}};
    for (auto& l : lanes)
        if (l.i < l.end) l.h = rolling_.of({p + l.i, kBlockSize});

    // Advances a lane by one step; false when it has reached its end.
    auto step = [&](Lane& l) {
        std::uint64_t top = l.h >> filter_shift_;
        if ((filter_[top / 64] >> (top % 64)) & 1) [[unlikely]] {
            if (match_at(p + l.i, l.h, base + l.i, out)) {
                l.i += kBlockSize;  // as rsync does: after a match, look past it
                if (l.i >= l.end) return false;
                l.h = rolling_.of({p + l.i, kBlockSize});
                return true;
            }
        }
        if (l.i + 1 >= l.end) return false;
        l.h = rolling_.roll(l.h, p[l.i], p[l.i + kBlockSize]);
        ++l.i;
        return true;
    };
    bool a = lanes[0].i < lanes[0].end, b = lanes[1].i < lanes[1].end;
    while (a && b) {
        a = step(lanes[0]);
        b = step(lanes[1]);
    }
    while (a) a = step(lanes[0]);
    while (b) b = step(lanes[1]);
}

}  // namespace imaging::delta
