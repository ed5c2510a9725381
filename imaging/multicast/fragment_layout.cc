#include "fragment_layout.h"

#include <algorithm>
#include <cstdint>

namespace imaging::multicast {

FragmentLayout::FragmentLayout(std::uint32_t fragment_payload,
                               std::vector<std::uint32_t> object_sizes)
    : payload_(fragment_payload), sizes_(std::move(object_sizes)) {
    std::uint64_t next = 0;
    if (payload_ > 0) {
        for (std::uint32_t size : sizes_) next += fragments_for(size, payload_);
    }
    if (payload_ == 0 || next > UINT32_MAX) {
        // Every object present but empty: lookups stay in bounds and find nothing.
        valid_ = false;
        firsts_.assign(sizes_.size() + 1, 0);
        return;
    }
    firsts_.reserve(sizes_.size() + 1);
    next = 0;
    for (std::uint32_t size : sizes_) {
        firsts_.push_back(std::uint32_t(next));
        next += fragments_for(size, payload_);
    }
    firsts_.push_back(std::uint32_t(next));
}

std::uint32_t FragmentLayout::fragment_length(std::uint32_t object, std::uint32_t fragment) const {
    std::uint64_t start = std::uint64_t(fragment) * payload_;
    return std::uint32_t(std::min<std::uint64_t>(payload_, sizes_[object] - start));
}

std::pair<std::uint32_t, std::uint32_t> FragmentLayout::locate(std::uint32_t global) const {
    // The last object whose first fragment is <= global and which has fragments.
    auto it = std::upper_bound(firsts_.begin(), firsts_.end() - 1, global);
    auto object = std::uint32_t(it - firsts_.begin()) - 1;
    return {object, global - firsts_[object]};
}

}  // namespace imaging::multicast
