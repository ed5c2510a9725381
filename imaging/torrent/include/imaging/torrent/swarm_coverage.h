// What the seed knows the swarm holds, to leave once every piece exists somewhere in it.
// Built from the peers' have-bitfields (their BITFIELD and HAVE messages: only pieces that
// passed their hash at the peer), not from what the seed uploaded: a block sent is not a
// piece held (it may still be in flight, or its piece's other blocks went to another peer).
// Not thread-safe; the seed's alert loop owns it.
#pragma once

#include <vector>

#include <libtorrent/bitfield.hpp>
#include <libtorrent/units.hpp>

namespace imaging::torrent {

class SwarmCoverage {
public:
    explicit SwarmCoverage(int num_pieces);

    // One look at the peers: call begin_poll, then add_peer for every peer connected now.
    // Pieces of peers that left are forgotten (that copy may be gone with them).
    void begin_poll();
    void add_peer(const lt::typed_bitfield<lt::piece_index_t>& pieces, bool is_seed);
    // A peer with the whole image was seen (it may since have closed its connection to the
    // seed, as two seeds have nothing to exchange); it keeps seeding to the rack.
    void complete_copy_seen() { complete_copy_ = true; }

    bool complete() const { return complete_copy_ || held_ == num_pieces_; }
    int pieces_held() const { return complete_copy_ ? num_pieces_ : held_; }

private:
    int num_pieces_;
    std::vector<bool> present_;
    int held_ = 0;
    bool complete_copy_ = false;
};

}  // namespace imaging::torrent
