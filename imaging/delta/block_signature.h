// Block signatures of an image: for every non-zero chunk, each kBlockSize block's weak rolling
// checksum and a strong hash. The server computes them once per image and caches them beside
// the image (zsync's direction: the receiver, which holds the old data, does the rolling).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "imaging/packed_image.h"
#include "imaging/status.h"

namespace imaging::delta {

// 4 KiB: the block size of ext4 and of most filesystems, so a file that moved or a block group
// that half changed still matches block for block; a signature costs 12 bytes per block
// (0.3% of the data), and only chunks that differ ask for theirs.
inline constexpr std::uint32_t kBlockSize = 4096;

struct BlockSum {
    std::uint32_t weak = 0;
    std::uint64_t strong = 0;  // XXH3-64; a false match is caught by the chunk's SHA-256
    bool operator==(const BlockSum&) const = default;
};

std::uint64_t strong_hash(std::span<const std::uint8_t> block);
// Sums of every block of one chunk's raw bytes (the last block may be short).
std::vector<BlockSum> chunk_block_sums(std::span<const std::uint8_t> raw);

class ImageSignature {
public:
    // Loads IMAGEDIR/delta.sig if it belongs to this manifest, else computes it (all cores) and
    // tries to cache it there; an unwritable image directory only costs the cache.
    static Result<ImageSignature> load_or_compute(const PackedImage& image);
    const std::vector<BlockSum>& chunk(std::size_t i) const { return per_chunk_[i]; }
    std::size_t chunk_count() const { return per_chunk_.size(); }

private:
    std::vector<std::vector<BlockSum>> per_chunk_;
};

}  // namespace imaging::delta
