// A set of global fragment numbers kept as sorted, disjoint, non-adjacent ranges: the union
// of losses a sender must repair, the fragments a receiver has already asked for. Not
// thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "packet.h"

namespace imaging::multicast {

class RangeSet {
  public:
    void add(Range r);
    void add(std::uint32_t first, std::uint32_t count) { add(Range{first, count}); }
    void remove(Range r);
    bool contains(std::uint32_t x) const;
    bool empty() const { return ranges_.empty(); }
    std::uint64_t size() const { return size_; }
    void clear() {
        ranges_.clear();
        size_ = 0;
    }
    // The smallest member >= from, if any.
    std::optional<std::uint32_t> next_at_or_after(std::uint32_t from) const;
    // The end (exclusive) of the member range holding x; x itself when x is not a member.
    std::uint32_t end_of_range_at(std::uint32_t x) const;
    std::vector<Range> ranges() const;

  private:
    std::map<std::uint32_t, std::uint32_t> ranges_;  // first -> end (exclusive)
    std::uint64_t size_ = 0;
};

}  // namespace imaging::multicast
