// Which chunks of the pack become decodable as pieces complete. A chunk's frame occupies
// [pack_offset, pack_offset + pack_size) of the pack; it is ready once every piece overlapping
// that range has passed its hash. Pure bookkeeping, no I/O; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "imaging/manifest.h"

namespace imaging::torrent {

class ChunkAssembler {
public:
    ChunkAssembler(const Manifest& manifest, std::uint64_t piece_size);

    // Marks piece done (again is a no-op) and returns the stored chunks it made ready.
    std::vector<std::size_t> piece_done(int piece);
    std::size_t pieces() const { return piece_chunks_.size(); }
    // Stored chunks not yet ready.
    std::size_t pending_chunks() const { return pending_; }

private:
    std::vector<std::vector<std::uint32_t>> piece_chunks_;  // piece -> chunks overlapping it
    std::vector<std::uint32_t> missing_;                    // chunk -> pieces still missing
    std::vector<bool> piece_seen_;
    std::size_t pending_ = 0;
};

}  // namespace imaging::torrent
