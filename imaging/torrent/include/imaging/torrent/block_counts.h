// What a receiver has been sent, counted on libtorrent's network thread as each block arrives
// (a peer plugin's on_piece), so that no alert is raised and handled per 16 KiB block: the
// receiver's alert loop reads these totals when it wakes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <libtorrent/extensions.hpp>
#include <memory>

namespace imaging::torrent {

struct BlockCounts {
    // Payload of every block received, including blocks of pieces that then failed their hash.
    std::atomic<std::uint64_t> from_seed{0};   // from peers with a server seed's peer-id prefix
    std::atomic<std::uint64_t> from_peers{0};  // from other hosts
    // When the last block arrived, as steady_clock's time since its epoch; 0: none yet.
    std::atomic<std::chrono::steady_clock::rep> last_block{0};

    std::uint64_t total() const { return from_seed.load() + from_peers.load(); }
};

// For a receiver's torrent: adds each received block to counts.
std::shared_ptr<lt::torrent_plugin> block_counting_plugin(std::shared_ptr<BlockCounts> counts);

}  // namespace imaging::torrent
