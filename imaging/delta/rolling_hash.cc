#include "rolling_hash.h"

namespace imaging::delta {

RollingHash::RollingHash(std::size_t window) : window_(window), out_factor_(1) {
    for (std::size_t i = 0; i < window; ++i) out_factor_ *= kBase;
}

std::uint64_t RollingHash::of(std::span<const std::uint8_t> block) const {
    std::uint64_t h = 0;
    for (std::uint8_t b : block) h = h * kBase + b;
    return h;
}

}  // namespace imaging::delta
