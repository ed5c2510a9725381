// One chunk: compress, decompress and verify (every transport moves zstd frames of chunks,
// and every receiver checks a chunk's SHA-256 before it writes it).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "imaging/digest.h"
#include "imaging/status.h"

namespace imaging {

bool is_all_zero(std::span<const std::uint8_t> data);

// One independent zstd frame holding raw.
std::vector<std::uint8_t> compress_chunk(std::span<const std::uint8_t> raw, int level);

// Decompresses frame into out, which must be exactly the chunk's raw length; then checks
// the SHA-256. An error means nothing in out may be written anywhere. Thread-safe: each
// calling thread reuses a decompression context of its own.
Status decode_chunk(std::span<const std::uint8_t> frame, std::span<std::uint8_t> out,
                    const Digest& expected);

}  // namespace imaging
