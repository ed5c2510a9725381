// SwarmCoverage: when the seed may leave (every piece held by some peer, or a complete copy
// seen), from the peers' have-bitfields.
#include <doctest/doctest.h>

#include "imaging/torrent/swarm_coverage.h"

using imaging::torrent::SwarmCoverage;

namespace {

lt::typed_bitfield<lt::piece_index_t> have(int n, std::initializer_list<int> pieces) {
    lt::typed_bitfield<lt::piece_index_t> bits(n, false);
    for (int p : pieces) bits.set_bit(lt::piece_index_t{p});
    return bits;
}

}  // namespace

TEST_CASE("swarm coverage: the union of the connected peers' pieces") {
    SwarmCoverage c(4);
    c.begin_poll();
    CHECK_FALSE(c.complete());
    c.add_peer(have(4, {0, 1}), false);
    c.add_peer(have(4, {1, 2}), false);
    CHECK(c.pieces_held() == 3);
    CHECK_FALSE(c.complete());
    c.add_peer(have(4, {3}), false);
    CHECK(c.complete());
}

TEST_CASE("swarm coverage: a peer that left takes its pieces with it") {
    SwarmCoverage c(3);
    c.begin_poll();
    c.add_peer(have(3, {0, 1}), false);
    c.add_peer(have(3, {2}), false);
    CHECK(c.complete());
    c.begin_poll();
    c.add_peer(have(3, {0, 1}), false);
    CHECK_FALSE(c.complete());
    CHECK(c.pieces_held() == 2);
}

TEST_CASE("swarm coverage: a complete copy is remembered") {
    SwarmCoverage c(3);
    c.begin_poll();
    c.add_peer(have(3, {0, 1, 2}), false);
    CHECK(c.complete());
    c.begin_poll();  // the finished host closed its connection to the seed
    CHECK(c.complete());

    SwarmCoverage seeded(3);
    seeded.begin_poll();
    seeded.add_peer(have(3, {}), true);  // flagged a seed before its bitfield is read
    CHECK(seeded.complete());

    SwarmCoverage told(3);
    told.complete_copy_seen();
    CHECK(told.complete());
}

TEST_CASE("swarm coverage: a bitfield of the wrong size cannot cover the torrent") {
    SwarmCoverage c(4);
    c.begin_poll();
    c.add_peer(have(2, {0, 1}), false);  // not yet sized, or a misbehaving peer
    c.add_peer(have(8, {2, 5, 7}), false);
    CHECK(c.pieces_held() == 3);
    CHECK_FALSE(c.complete());
}
