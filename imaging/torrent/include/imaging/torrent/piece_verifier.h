// A receiver's piece hashes answered from its chunks' SHA-256, so no byte is hashed twice.
//
// libtorrent asks for a piece's SHA-1 once every block of it is written, and compares the
// answer with the torrent's: a mismatch makes it fetch the piece again and blame (in the end
// ban) the peers that sent it. Every receiver verifies each chunk's SHA-256 against the signed
// manifest anyway. A piece whose chunks (the frames overlapping it) have all verified can only
// hold the right bytes, so it is answered "passed" without reading it again; while one of its
// chunks is being decoded, or waits for other pieces, the answer waits. The caller bounds the
// second wait (hash_now): a neighbour that does not come soon (offered to another host,
// fetched later) must not hold the piece back from the swarm, so the piece is then hashed.
//
// A chunk that fails its SHA-256 names no single piece (a frame spans several pieces, from
// several peers), and failing all of them would blame, and could ban, a peer that sent good
// pieces. So a bad chunk's pieces, and only those, fall back to their SHA-1 (the caller's
// PieceCheck): the pieces that differ from the torrent fail, exactly as libtorrent's own check
// would fail them, and the chunk is decoded again once they are in again. A bad chunk under
// pieces that all match the torrent means the torrent does not describe the signed image: an
// error.
//
// Bytes of a verified chunk are final: the disk I/O drops writes into them (chunk_final), so a
// piece fetched again over a verified chunk cannot change what it hashed to.
//
// Pure bookkeeping, no I/O; not thread-safe (libtorrent's network thread owns it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "imaging/manifest.h"
#include "imaging/status.h"

namespace imaging::torrent {

class PieceVerifier {
public:
    // True when piece's bytes hash to the torrent's SHA-1 for it.
    using PieceCheck = std::function<bool(int piece)>;

    // What the caller does next.
    struct Step {
        std::vector<std::size_t> decode;           // chunks now complete: decode and verify each
        std::vector<std::pair<int, bool>> answers;  // pieces answered: (piece, passed)
        Status error;                              // the torrent does not match its manifest
    };

    PieceVerifier(const Manifest& manifest, std::uint64_t piece_size, PieceCheck check);

    // Every block of piece is written: libtorrent asks for its hash.
    Step piece_in(int piece);
    // What decoding chunk (from Step::decode) found: verified or not.
    Step chunk_decoded(std::size_t chunk, bool verified);
    // A piece that waits for other pieces is answered by its SHA-1 now (not while one of its
    // chunks is being decoded: that answer comes with the decode).
    Step hash_now(int piece);
    bool waiting(int piece) const { return pending_.at(piece); }

    bool chunk_final(std::size_t chunk) const { return state_.at(chunk) == State::kVerified; }
    // Stored (non-zero) chunks overlapping piece, in pack order.
    const std::vector<std::uint32_t>& chunks_of(int piece) const { return piece_chunks_.at(piece); }
    std::size_t pieces() const { return piece_chunks_.size(); }
    std::size_t stored_chunks() const { return stored_; }
    std::size_t verified_chunks() const { return verified_; }
    std::size_t pieces_hashed() const { return pieces_hashed_; }  // PieceCheck calls

private:
    enum class State : std::uint8_t { kMissing, kDecoding, kVerified, kBad };
    void try_answer(int piece, Step& step);
    void answer(int piece, bool passed, Step& step);
    void end_bad_round(std::size_t chunk, Step& step);

    PieceCheck check_;
    std::vector<std::vector<std::uint32_t>> piece_chunks_;  // piece -> stored chunks over it
    std::vector<std::vector<int>> chunk_pieces_;            // chunk -> pieces under it
    std::vector<State> state_;
    std::vector<std::uint32_t> missing_;     // chunk -> pieces under it not in (or fetched again)
    std::vector<std::uint32_t> unanswered_;  // a bad chunk -> its pieces not yet answered
    std::vector<bool> bad_piece_found_;      // a bad chunk -> one of its pieces failed SHA-1
    std::vector<bool> pending_;              // piece -> in, its answer not given
    std::vector<bool> covered_;              // piece -> every byte of it lies in some frame
    std::size_t stored_ = 0;
    std::size_t verified_ = 0;
    std::size_t pieces_hashed_ = 0;
};

}  // namespace imaging::torrent
