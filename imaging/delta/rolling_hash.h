// A polynomial rolling hash over a fixed window (Rabin-Karp, mod 2^64): the delta transport's
// weak checksum. Rolling one byte costs two multiplies; unlike rsync's Adler-style sum, its high
// bits are well mixed even on low-entropy data, so a 32-bit weak value rarely collides.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace imaging::delta {

class RollingHash {
public:
    static constexpr std::uint64_t kBase = 0x100000001b3ull;  // odd, FNV's prime

    explicit RollingHash(std::size_t window);

    // Hash of a whole window (also the hash of any block of that length).
    std::uint64_t of(std::span<const std::uint8_t> block) const;
    // Slides the window one byte: drops `out` (its first byte), appends `in`.
    std::uint64_t roll(std::uint64_t h, std::uint8_t out, std::uint8_t in) const {
        return h * kBase + in - out_factor_ * out;
    }
    std::size_t window() const { return window_; }

    // The 32-bit weak checksum carried in signatures.
    static std::uint32_t weak(std::uint64_t h) { return std::uint32_t(h >> 32); }

private:
    std::size_t window_;
    std::uint64_t out_factor_;  // kBase^window
};

}  // namespace imaging::delta
