// How a session's objects (0 = manifest, i + 1 = chunk i) are cut into fragments, and the
// global fragment numbers that NACKs, POLLs and the bookkeeping use: object o's fragments are
// [first(o), first(o) + count(o)). Objects of size 0 (all-zero chunks) have no fragments.
// Fragment numbers are 32 bits: a layout whose count would not fit (or with a payload of 0)
// is not valid(), and then has no fragments at all; the caller refuses it.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace imaging::multicast {

class FragmentLayout {
  public:
    FragmentLayout() = default;
    FragmentLayout(std::uint32_t fragment_payload, std::vector<std::uint32_t> object_sizes);

    bool valid() const { return valid_; }
    std::uint32_t fragment_payload() const { return payload_; }
    std::uint32_t objects() const { return std::uint32_t(sizes_.size()); }
    std::uint32_t total() const { return firsts_.empty() ? 0 : firsts_.back(); }
    std::uint32_t object_size(std::uint32_t object) const { return sizes_[object]; }
    std::uint32_t first(std::uint32_t object) const { return firsts_[object]; }
    std::uint32_t count(std::uint32_t object) const {
        return firsts_[object + 1] - firsts_[object];
    }
    std::uint32_t fragment_length(std::uint32_t object, std::uint32_t fragment) const;
    // Global fragment -> (object, fragment index). global < total().
    std::pair<std::uint32_t, std::uint32_t> locate(std::uint32_t global) const;

    static std::uint32_t fragments_for(std::uint32_t size, std::uint32_t payload) {
        return std::uint32_t((std::uint64_t(size) + payload - 1) / payload);
    }

  private:
    bool valid_ = true;
    std::uint32_t payload_ = 0;
    std::vector<std::uint32_t> sizes_;
    std::vector<std::uint32_t> firsts_;  // objects() + 1 entries
};

}  // namespace imaging::multicast
