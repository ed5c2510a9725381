#include "imaging/torrent/offering.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <random>
#include <utility>
#include <vector>

#include <libtorrent/bitfield.hpp>
#include <libtorrent/peer_connection_handle.hpp>

#include "imaging/torrent/lan_settings.h"

namespace imaging::torrent {
namespace {

using Clock = std::chrono::steady_clock;

// Every window, a receiver that had nothing on offer at its end and got fewer than in_flight
// pieces from other hosts in it (under 8 MiB in 3 s: it cannot reach the hosts that hold what
// it lacks, or they upload too slowly, or it joined late) is stranded: it is offered pieces
// others hold too, until a window in which it gets in_flight pieces elsewhere.
constexpr auto kWindow = std::chrono::seconds(3);

// What the seed knows of the swarm, per piece: how many connected peers hold it, and to how
// many it is on offer. Used on libtorrent's network thread only.
struct Swarm {
    Swarm(int pieces, int in_flight) : holders(pieces), offered(pieces), in_flight(in_flight) {}
    int pieces() const { return static_cast<int>(holders.size()); }
    std::vector<int> holders;
    std::vector<int> offered;
    int in_flight;
    std::minstd_rand random{std::random_device{}()};
};

class OfferedPeer final : public lt::peer_plugin {
public:
    OfferedPeer(std::shared_ptr<Swarm> swarm, lt::peer_connection_handle handle)
        : swarm_(std::move(swarm)),
          handle_(std::move(handle)),
          has_(static_cast<std::size_t>(swarm_->pieces()), false),
          missing_(swarm_->pieces()) {}
    OfferedPeer(const OfferedPeer&) = delete;
    OfferedPeer& operator=(const OfferedPeer&) = delete;
    ~OfferedPeer() override { release(); }

    // The peer's first word on what it holds: offers start after it (and after the seed's
    // have-all, which libtorrent sent when the handshake completed).
    bool on_have_none() override {
        start();
        return false;
    }
    bool on_bitfield(const lt::bitfield& bits) override {
        for (int i = 0; i < std::min(bits.size(), swarm_->pieces()); ++i) {
            if (bits.get_bit(i)) add(i);
        }
        start();
        return false;
    }
    bool on_have_all() override {
        for (int i = 0; i < swarm_->pieces(); ++i) add(i);
        start();
        return false;
    }
    bool on_have(lt::piece_index_t piece) override {
        int i = static_cast<int>(piece);
        if (i < 0 || i >= swarm_->pieces()) return false;
        add(i);
        if (!withdraw(i)) ++from_elsewhere_;
        top_up();
        return false;
    }
    void on_disconnect(const lt::error_code&) override { release(); }
    void tick() override {
        if (!started_ && !handle_.in_handshake()) start();  // a peer that said nothing of its pieces
        if (!receiver_ || released_) return;
        if (Clock::now() - window_start_ >= kWindow) {
            const int enough = std::min(swarm_->in_flight, missing_at_window_start_);
            const bool starved = missing_ > 0 && from_elsewhere_ < enough;
            stranded_ = starved && (stranded_ || offers_.empty());
            window_start_ = Clock::now();
            from_elsewhere_ = 0;
            missing_at_window_start_ = missing_;
        }
        top_up();
    }

private:
    void start() {
        if (started_) return;
        started_ = true;
        window_start_ = Clock::now();
        missing_at_window_start_ = missing_;
        receiver_ = has_fingerprint(handle_.pid(), kReceiverFingerprint);
        if (receiver_) top_up();
    }

    void add(int i) {
        if (has_[static_cast<std::size_t>(i)]) return;
        has_[static_cast<std::size_t>(i)] = true;
        ++swarm_->holders[static_cast<std::size_t>(i)];
        --missing_;
    }

    // Whether i was on offer to this peer.
    bool withdraw(int i) {
        for (auto it = offers_.begin(); it != offers_.end(); ++it) {
            if (*it != i) continue;
            --swarm_->offered[static_cast<std::size_t>(i)];
            offers_.erase(it);
            return true;
        }
        return false;
    }

    // Offers pieces until `in_flight` are out: pieces no peer holds or has on offer, or, for a
    // stranded peer, the pieces it lacks that are least offered and held.
    void top_up() {
        if (!receiver_ || released_ || handle_.is_disconnecting()) return;
        while (missing_ > static_cast<int>(offers_.size()) &&
               static_cast<int>(offers_.size()) < swarm_->in_flight) {
            int piece = pick(stranded_);
            if (piece < 0) return;
            offer(piece);
        }
    }

    // From where this peer's last offer ends (at random for its first): offers run in
    // extents of the pack, so the frames across a piece boundary are whole at the host soon
    // and its pieces pass on their chunks' SHA-256 alone (piece_verifier.h).
    int pick(bool stranded) {
        const int n = swarm_->pieces();
        const int first = next_ >= 0 ? next_ % n
                                     : static_cast<int>(swarm_->random() % static_cast<unsigned>(n));
        int best = -1;
        long best_key = 0;
        for (int k = 0; k < n; ++k) {
            int i = (first + k) % n;
            auto u = static_cast<std::size_t>(i);
            if (has_[u] || offered_here(i)) continue;
            long key = static_cast<long>(swarm_->offered[u]) * n + swarm_->holders[u];
            if (key == 0) return i;
            if (stranded && (best < 0 || key < best_key)) {
                best = i;
                best_key = key;
            }
        }
        return best;
    }

    bool offered_here(int i) const {
        for (int o : offers_) {
            if (o == i) return true;
        }
        return false;
    }

    // A HAVE message, sent as raw bytes: libtorrent has no call for a HAVE of a seed's choice.
    void offer(int i) {
        auto index = static_cast<std::uint32_t>(i);
        std::array<char, 9> have{0, 0, 0, 5, 4,
                                 static_cast<char>(index >> 24), static_cast<char>(index >> 16),
                                 static_cast<char>(index >> 8), static_cast<char>(index)};
        handle_.send_buffer(have.data(), static_cast<int>(have.size()));
        offers_.push_back(i);
        ++swarm_->offered[static_cast<std::size_t>(i)];
        next_ = i + 1;
    }

    void release() {
        if (released_) return;
        released_ = true;
        for (int o : offers_) --swarm_->offered[static_cast<std::size_t>(o)];
        offers_.clear();
        for (std::size_t i = 0; i < has_.size(); ++i) {
            if (has_[i]) --swarm_->holders[i];
        }
    }

    std::shared_ptr<Swarm> swarm_;
    lt::peer_connection_handle handle_;
    std::vector<bool> has_;
    int missing_;
    std::vector<int> offers_;
    int next_ = -1;  // where the next pick starts
    bool started_ = false;
    bool receiver_ = false;
    bool released_ = false;
    bool stranded_ = false;
    Clock::time_point window_start_ = Clock::now();
    int from_elsewhere_ = 0;  // pieces announced this window that were not on offer to it
    int missing_at_window_start_ = 0;
};

class OfferingSeed final : public lt::torrent_plugin {
public:
    OfferingSeed(int pieces, int in_flight) : swarm_(std::make_shared<Swarm>(pieces, in_flight)) {}
    std::shared_ptr<lt::peer_plugin> new_connection(const lt::peer_connection_handle& handle) override {
        return std::make_shared<OfferedPeer>(swarm_, handle);
    }

private:
    std::shared_ptr<Swarm> swarm_;
};

class OfferTakingPeer final : public lt::peer_plugin {
public:
    explicit OfferTakingPeer(lt::peer_connection_handle handle) : handle_(std::move(handle)) {}
    bool on_have_all() override { return from_offering_seed(); }
    bool on_bitfield(const lt::bitfield&) override { return from_offering_seed(); }

private:
    bool from_offering_seed() const { return has_fingerprint(handle_.pid(), kOfferingSeedFingerprint); }
    lt::peer_connection_handle handle_;
};

class OfferTaking final : public lt::torrent_plugin {
public:
    std::shared_ptr<lt::peer_plugin> new_connection(const lt::peer_connection_handle& handle) override {
        return std::make_shared<OfferTakingPeer>(handle);
    }
};

}  // namespace

std::shared_ptr<lt::torrent_plugin> offering_seed_plugin(int num_pieces, int pieces_in_flight) {
    return std::make_shared<OfferingSeed>(num_pieces, std::max(1, pieces_in_flight));
}

std::shared_ptr<lt::torrent_plugin> offer_taking_plugin() {
    return std::make_shared<OfferTaking>();
}

}  // namespace imaging::torrent
