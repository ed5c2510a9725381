// A receiver's piece hashes answered from its chunks' SHA-256 (piece_verifier.h): good pieces
// pass without being hashed; a bad chunk fails exactly the pieces whose SHA-1 differs, and is
// decoded again once they are in again; a torrent that does not describe the manifest is caught.
#include <doctest/doctest.h>

#include <set>

#include "imaging/torrent/piece_verifier.h"

namespace {

using namespace imaging;
using namespace imaging::torrent;
using Answers = std::vector<std::pair<int, bool>>;
using Chunks = std::vector<std::size_t>;

// Chunks 0 [0,30), 1 zero, 2 [30,80), 3 [80,90); pieces of 32: P0 [0,32) over chunks 0 and 2,
// P1 [32,64) over 2, P2 [64,90) over 2 and 3.
Manifest three_pieces() {
    Manifest m;
    m.chunk_size = 100;
    m.raw_size = 400;
    m.pack_size = 90;
    m.chunks = {ChunkEntry{{}, 0, 30}, ChunkEntry{{}, 0, 0}, ChunkEntry{{}, 30, 50},
                ChunkEntry{{}, 80, 10}};
    return m;
}

TEST_CASE("piece verifier: pieces over verified chunks pass without a hash; answers wait for decodes") {
    int hashed = 0;
    PieceVerifier v(three_pieces(), 32, [&](int) { return ++hashed, true; });
    CHECK(v.pieces() == 3);
    CHECK(v.stored_chunks() == 3);
    auto s = v.piece_in(1);
    CHECK(s.decode.empty());
    CHECK(s.answers.empty());
    s = v.piece_in(0);
    CHECK(s.decode == Chunks{0});
    CHECK(s.answers.empty());
    CHECK(v.piece_in(0).decode.empty());  // asked twice: nothing new
    s = v.chunk_decoded(0, true);
    CHECK(s.answers.empty());  // P0 also holds chunk 2, which waits for P2
    CHECK(v.chunk_final(0));
    s = v.piece_in(2);
    CHECK(s.decode == Chunks{2, 3});
    s = v.chunk_decoded(2, true);
    CHECK(s.answers == Answers{{0, true}, {1, true}});  // P2 waits: chunk 3 is being decoded
    s = v.chunk_decoded(3, true);
    CHECK(s.answers == Answers{{2, true}});
    CHECK(s.error.is_ok());
    CHECK(v.verified_chunks() == 3);
    CHECK(hashed == 0);
    CHECK(v.pieces_hashed() == 0);
}

TEST_CASE("piece verifier: a bad chunk fails exactly its pieces that differ, then decodes again") {
    std::set<int> bad = {1};
    PieceVerifier v(three_pieces(), 32, [&](int p) { return bad.count(p) == 0; });
    CHECK(v.piece_in(0).decode == Chunks{0});
    CHECK(v.chunk_decoded(0, true).answers.empty());
    CHECK(v.piece_in(1).decode.empty());
    CHECK(v.piece_in(2).decode == Chunks{2, 3});
    CHECK(v.chunk_decoded(3, true).answers.empty());  // P2 holds chunk 2, being decoded
    auto s = v.chunk_decoded(2, false);
    // P0 and P2 match the torrent (their good bytes are kept, their peers not blamed); P1 fails.
    CHECK(s.answers == Answers{{0, true}, {1, false}, {2, true}});
    CHECK(s.decode.empty());
    CHECK(s.error.is_ok());
    CHECK(v.pieces_hashed() == 3);
    CHECK_FALSE(v.chunk_final(2));
    bad.clear();  // libtorrent fetches P1 again, from a good peer
    s = v.piece_in(1);
    CHECK(s.decode == Chunks{2});
    s = v.chunk_decoded(2, true);
    CHECK(s.answers == Answers{{1, true}});  // no SHA-1 for it this time
    CHECK(v.pieces_hashed() == 3);
    CHECK(v.verified_chunks() == 3);
}

TEST_CASE("piece verifier: a failed piece back in while the bad chunk's round goes on") {
    std::set<int> bad = {1};
    PieceVerifier v(three_pieces(), 32, [&](int p) { return bad.count(p) == 0; });
    CHECK(v.piece_in(0).decode == Chunks{0});
    CHECK(v.piece_in(1).decode.empty());
    CHECK(v.piece_in(2).decode == Chunks{2, 3});
    CHECK(v.chunk_decoded(0, true).answers.empty());
    auto s = v.chunk_decoded(2, false);
    CHECK(s.answers == Answers{{0, true}, {1, false}});  // P2 waits for chunk 3's decode
    bad.clear();
    s = v.piece_in(1);
    CHECK(s.decode.empty());  // chunk 2 still waits for P2's answer
    CHECK(s.answers == Answers{{1, true}});  // chunk 2 is bad: P1 is checked by its SHA-1
    s = v.chunk_decoded(3, true);
    CHECK(s.answers == Answers{{2, true}});
    CHECK(s.decode == Chunks{2});  // every piece of chunk 2 is in again
    s = v.chunk_decoded(2, true);
    CHECK(s.answers.empty());
    CHECK(s.error.is_ok());
    CHECK(v.verified_chunks() == 3);
    CHECK(v.pieces_hashed() == 4);
}

TEST_CASE("piece verifier: a bad chunk under pieces that all match is a torrent of another image") {
    PieceVerifier v(three_pieces(), 32, [](int) { return true; });
    v.piece_in(0);
    v.piece_in(1);
    v.piece_in(2);
    v.chunk_decoded(0, true);
    v.chunk_decoded(3, true);
    auto s = v.chunk_decoded(2, false);
    REQUIRE_FALSE(s.error.is_ok());
    CHECK(s.error.message().find("does not match its signed manifest: chunk 2") != std::string::npos);
}

TEST_CASE("piece verifier: a piece whose neighbour does not come is hashed when asked") {
    std::set<int> bad = {2};
    PieceVerifier v(three_pieces(), 32, [&](int p) { return bad.count(p) == 0; });
    CHECK(v.piece_in(0).decode == Chunks{0});
    CHECK(v.hash_now(0).answers.empty());  // chunk 0 is being decoded: its answer comes with it
    CHECK(v.chunk_decoded(0, true).answers.empty());
    CHECK(v.waiting(0));
    auto s = v.hash_now(0);  // chunk 2 waits for P1 and P2
    CHECK(s.answers == Answers{{0, true}});
    CHECK(v.pieces_hashed() == 1);
    CHECK(v.piece_in(1).answers.empty());
    s = v.piece_in(2);  // a bad piece
    CHECK(s.decode == Chunks{2, 3});
    CHECK(v.chunk_decoded(3, true).answers.empty());
    s = v.chunk_decoded(2, false);
    CHECK(s.answers == Answers{{1, true}, {2, false}});  // P0 passed before: not asked again
    bad.clear();
    s = v.piece_in(2);
    CHECK(s.decode == Chunks{2});
    CHECK(v.chunk_decoded(2, true).answers == Answers{{2, true}});
    CHECK(v.verified_chunks() == 3);
}

TEST_CASE("piece verifier: bytes outside every frame are hashed, never taken on trust") {
    Manifest m;
    m.chunk_size = 100;
    m.raw_size = 200;
    m.pack_size = 64;
    m.chunks = {ChunkEntry{{}, 0, 20}, ChunkEntry{{}, 24, 40}};  // [20,24) in no frame
    int hashed = 0;
    PieceVerifier v(m, 32, [&](int) { return ++hashed, true; });
    CHECK(v.piece_in(0).decode == Chunks{0});
    CHECK(v.piece_in(1).decode == Chunks{1});
    CHECK(v.chunk_decoded(0, true).answers.empty());
    auto s = v.chunk_decoded(1, true);
    CHECK(s.answers == Answers{{0, true}, {1, true}});
    CHECK(hashed == 1);  // P0, with the gap; P1 lies wholly in chunk 1
}

}  // namespace
