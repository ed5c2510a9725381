#include "imaging/torrent/chunk_assembler.h"

namespace imaging::torrent {

ChunkAssembler::ChunkAssembler(const Manifest& m, std::uint64_t piece_size) {
    std::uint64_t pieces = piece_size ? (m.pack_size + piece_size - 1) / piece_size : 0;
    piece_chunks_.resize(pieces);
    piece_seen_.resize(pieces, false);
    missing_.resize(m.chunks.size(), 0);
    for (std::size_t i = 0; i < m.chunks.size(); ++i) {
        const auto& c = m.chunks[i];
        if (c.is_zero()) continue;
        std::uint64_t first = c.pack_offset / piece_size;
        std::uint64_t last = (c.pack_offset + c.pack_size - 1) / piece_size;
        for (std::uint64_t p = first; p <= last && p < pieces; ++p) {
            piece_chunks_[p].push_back(static_cast<std::uint32_t>(i));
            ++missing_[i];
        }
        ++pending_;
    }
}

std::vector<std::size_t> ChunkAssembler::piece_done(int piece) {
    std::vector<std::size_t> ready;
    if (piece < 0 || static_cast<std::size_t>(piece) >= piece_chunks_.size()) return ready;
    if (piece_seen_[piece]) return ready;
    piece_seen_[piece] = true;
    for (auto chunk : piece_chunks_[piece]) {
        if (--missing_[chunk] == 0) {
            ready.push_back(chunk);
            --pending_;
        }
    }
    return ready;
}

}  // namespace imaging::torrent
