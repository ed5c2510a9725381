#include "imaging/torrent/block_counts.h"

#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/peer_request.hpp>

#include "imaging/torrent/lan_settings.h"
#include "imaging/torrent/offering.h"

namespace imaging::torrent {
namespace {

class CountingPeer final : public lt::peer_plugin {
public:
    CountingPeer(std::shared_ptr<BlockCounts> counts, lt::peer_connection_handle handle)
        : counts_(std::move(counts)), handle_(std::move(handle)) {}

    bool on_piece(const lt::peer_request&, lt::span<const char> block) override {
        // The peer id is known once the handshake is done, before any block can arrive.
        if (!seed_known_) {
            auto pid = handle_.pid();
            from_seed_ = has_fingerprint(pid, kSeedFingerprint) ||
                         has_fingerprint(pid, kOfferingSeedFingerprint);
            seed_known_ = true;
        }
        auto bytes = static_cast<std::uint64_t>(block.size());
        (from_seed_ ? counts_->from_seed : counts_->from_peers)
            .fetch_add(bytes, std::memory_order_relaxed);
        counts_->last_block.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                                  std::memory_order_relaxed);
        return false;  // libtorrent goes on with the block as usual
    }

private:
    std::shared_ptr<BlockCounts> counts_;
    lt::peer_connection_handle handle_;
    bool seed_known_ = false;
    bool from_seed_ = false;
};

class Counting final : public lt::torrent_plugin {
public:
    explicit Counting(std::shared_ptr<BlockCounts> counts) : counts_(std::move(counts)) {}
    std::shared_ptr<lt::peer_plugin> new_connection(
        const lt::peer_connection_handle& handle) override {
        return std::make_shared<CountingPeer>(counts_, handle);
    }

private:
    std::shared_ptr<BlockCounts> counts_;
};

}  // namespace

std::shared_ptr<lt::torrent_plugin> block_counting_plugin(std::shared_ptr<BlockCounts> counts) {
    return std::make_shared<Counting>(std::move(counts));
}

}  // namespace imaging::torrent
