#include "range_set.h"

#include <algorithm>

namespace imaging::multicast {

void RangeSet::add(Range r) {
    if (r.count == 0) return;
    std::uint64_t first = r.first;
    std::uint64_t end = first + r.count;
    auto it = ranges_.upper_bound(std::uint32_t(first));
    if (it != ranges_.begin()) {
        auto prev = std::prev(it);
        if (prev->second >= first) it = prev;
    }
    while (it != ranges_.end() && it->first <= end) {
        first = std::min<std::uint64_t>(first, it->first);
        end = std::max<std::uint64_t>(end, it->second);
        size_ -= it->second - it->first;
        it = ranges_.erase(it);
    }
    ranges_.emplace(std::uint32_t(first), std::uint32_t(end));
    size_ += end - first;
}

void RangeSet::remove(Range r) {
    if (r.count == 0) return;
    std::uint32_t first = r.first;
    std::uint32_t end = r.first + r.count;
    auto it = ranges_.upper_bound(first);
    if (it != ranges_.begin()) it = std::prev(it);
    while (it != ranges_.end() && it->first < end) {
        std::uint32_t a = it->first, b = it->second;
        if (b <= first) {
            ++it;
            continue;
        }
        it = ranges_.erase(it);
        size_ -= b - a;
        if (a < first) {
            ranges_.emplace(a, first);
            size_ += first - a;
        }
        if (b > end) {
            ranges_.emplace(end, b);
            size_ += b - end;
        }
    }
}

bool RangeSet::contains(std::uint32_t x) const {
    auto it = ranges_.upper_bound(x);
    if (it == ranges_.begin()) return false;
    --it;
    return x < it->second;
}

std::optional<std::uint32_t> RangeSet::next_at_or_after(std::uint32_t from) const {
    auto it = ranges_.upper_bound(from);
    if (it != ranges_.begin()) {
        auto prev = std::prev(it);
        if (from < prev->second) return from;
    }
    if (it == ranges_.end()) return std::nullopt;
    return it->first;
}

std::uint32_t RangeSet::end_of_range_at(std::uint32_t x) const {
    auto it = ranges_.upper_bound(x);
    if (it == ranges_.begin()) return x;
    --it;
    return x < it->second ? it->second : x;
}

std::vector<Range> RangeSet::ranges() const {
    std::vector<Range> out;
    out.reserve(ranges_.size());
    for (auto [a, b] : ranges_) out.push_back(Range{a, b - a});
    return out;
}

}  // namespace imaging::multicast
