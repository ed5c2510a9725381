#include "imaging/torrent/piece_verifier.h"

#include <algorithm>

namespace imaging::torrent {

PieceVerifier::PieceVerifier(const Manifest& m, std::uint64_t piece_size, PieceCheck check)
    : check_(std::move(check)) {
    const std::uint64_t pieces = piece_size ? (m.pack_size + piece_size - 1) / piece_size : 0;
    piece_chunks_.resize(pieces);
    chunk_pieces_.resize(m.chunks.size());
    state_.resize(m.chunks.size(), State::kVerified);  // zero chunks: nothing to receive
    missing_.resize(m.chunks.size(), 0);
    unanswered_.resize(m.chunks.size(), 0);
    bad_piece_found_.resize(m.chunks.size(), false);
    pending_.resize(pieces, false);
    covered_.resize(pieces, false);
    std::vector<std::vector<std::pair<std::uint64_t, std::uint64_t>>> spans(pieces);
    for (std::size_t i = 0; i < m.chunks.size(); ++i) {
        const auto& c = m.chunks[i];
        if (c.is_zero() || pieces == 0) continue;
        state_[i] = State::kMissing;
        ++stored_;
        const std::uint64_t end = c.pack_offset + c.pack_size;
        for (std::uint64_t p = c.pack_offset / piece_size; p <= (end - 1) / piece_size && p < pieces; ++p) {
            piece_chunks_[p].push_back(static_cast<std::uint32_t>(i));
            chunk_pieces_[i].push_back(static_cast<int>(p));
            ++missing_[i];
            spans[p].emplace_back(std::max(c.pack_offset, p * piece_size),
                                  std::min(end, (p + 1) * piece_size));
        }
    }
    // A piece passes on its chunks alone only if their frames cover every byte of it (a signed
    // manifest lays frames end to end, but nothing else checks that it does).
    for (std::uint64_t p = 0; p < pieces; ++p) {
        std::sort(spans[p].begin(), spans[p].end());
        std::uint64_t reached = p * piece_size;
        for (const auto& [from, to] : spans[p]) {
            if (from > reached) break;
            reached = std::max(reached, to);
        }
        covered_[p] = reached >= std::min(m.pack_size, (p + 1) * piece_size);
    }
}

PieceVerifier::Step PieceVerifier::piece_in(int piece) {
    Step step;
    if (piece < 0 || static_cast<std::size_t>(piece) >= pending_.size() || pending_[piece])
        return step;
    pending_[piece] = true;
    for (std::uint32_t c : piece_chunks_[piece]) {
        if (state_[c] == State::kMissing && missing_[c] > 0 && --missing_[c] == 0) {
            state_[c] = State::kDecoding;
            step.decode.push_back(c);
        } else if (state_[c] == State::kBad && missing_[c] > 0) {
            // A piece that failed comes back while the chunk's round goes on: answered (by its
            // SHA-1) within the round.
            --missing_[c];
            ++unanswered_[c];
        }
    }
    try_answer(piece, step);
    return step;
}

PieceVerifier::Step PieceVerifier::chunk_decoded(std::size_t chunk, bool verified) {
    Step step;
    if (chunk >= state_.size() || state_[chunk] != State::kDecoding) return step;
    if (verified) {
        state_[chunk] = State::kVerified;
        ++verified_;
    } else {
        state_[chunk] = State::kBad;
        bad_piece_found_[chunk] = false;
        unanswered_[chunk] = 0;
        for (int p : chunk_pieces_[chunk]) unanswered_[chunk] += pending_[p] ? 1 : 0;
        if (unanswered_[chunk] == 0) end_bad_round(chunk, step);
    }
    for (int p : chunk_pieces_[chunk]) try_answer(p, step);
    return step;
}

PieceVerifier::Step PieceVerifier::hash_now(int piece) {
    Step step;
    if (piece < 0 || static_cast<std::size_t>(piece) >= pending_.size() || !pending_[piece])
        return step;
    for (std::uint32_t c : piece_chunks_[piece])
        if (state_[c] == State::kDecoding) return step;
    ++pieces_hashed_;
    answer(piece, check_(piece), step);
    return step;
}

void PieceVerifier::try_answer(int piece, Step& step) {
    if (!pending_[piece]) return;
    bool any_bad = false, all_verified = true;
    for (std::uint32_t c : piece_chunks_[piece]) {
        if (state_[c] == State::kDecoding) return;  // its bytes are being read: wait
        any_bad = any_bad || state_[c] == State::kBad;
        all_verified = all_verified && state_[c] == State::kVerified;
    }
    if (all_verified && covered_[piece]) return answer(piece, true, step);
    if (any_bad || all_verified) {
        ++pieces_hashed_;
        return answer(piece, check_(piece), step);
    }
    // A chunk over it waits for another piece: so does the answer.
}

void PieceVerifier::answer(int piece, bool passed, Step& step) {
    pending_[piece] = false;
    step.answers.emplace_back(piece, passed);
    for (std::uint32_t c : piece_chunks_[piece]) {
        if (state_[c] == State::kVerified) continue;
        if (!passed) ++missing_[c];  // libtorrent fetches the piece again
        if (state_[c] != State::kBad) continue;
        if (!passed) bad_piece_found_[c] = true;
        if (--unanswered_[c] == 0) end_bad_round(c, step);
    }
}

void PieceVerifier::end_bad_round(std::size_t chunk, Step& step) {
    if (!bad_piece_found_[chunk]) {
        step.error = Status::error(
            "the torrent does not match its signed manifest: chunk " + std::to_string(chunk) +
            " fails its SHA-256 although every piece under it matches the torrent's hashes");
        return;
    }
    if (missing_[chunk] > 0) {
        state_[chunk] = State::kMissing;
    } else {  // the pieces that failed are in again already
        state_[chunk] = State::kDecoding;
        step.decode.push_back(chunk);
    }
}

}  // namespace imaging::torrent
