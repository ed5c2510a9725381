#include "imaging/torrent/swarm_coverage.h"

#include <algorithm>

namespace imaging::torrent {

SwarmCoverage::SwarmCoverage(int num_pieces)
    : num_pieces_(num_pieces), present_(static_cast<std::size_t>(num_pieces), false) {}

void SwarmCoverage::begin_poll() {
    present_.assign(present_.size(), false);
    held_ = 0;
}

void SwarmCoverage::add_peer(const lt::typed_bitfield<lt::piece_index_t>& pieces, bool is_seed) {
    if (is_seed || (pieces.size() == num_pieces_ && pieces.all_set())) {
        complete_copy_seen();
        return;
    }
    int n = std::min(pieces.size(), num_pieces_);
    for (int i = 0; i < n; ++i) {
        if (!pieces[lt::piece_index_t{i}] || present_[static_cast<std::size_t>(i)]) continue;
        present_[static_cast<std::size_t>(i)] = true;
        ++held_;
    }
}

}  // namespace imaging::torrent
