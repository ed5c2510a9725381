#include "imaging/torrent/memory_disk_io.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <libtorrent/disk_interface.hpp>
#include <libtorrent/error_code.hpp>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/hasher.hpp>
#include <libtorrent/io_context.hpp>
#include <libtorrent/peer_request.hpp>
#include <libtorrent/storage_defs.hpp>
#include <algorithm>
#include <chrono>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

#include "imaging/torrent/piece_verifier.h"

namespace imaging::torrent {
namespace {

lt::storage_error invalid_request(lt::operation_t op) {
    lt::storage_error e;
    e.ec = lt::errors::invalid_piece_size;  // a request outside the pack
    e.operation = op;
    return e;
}

using HashHandler =
    std::function<void(lt::piece_index_t, const lt::sha1_hash&, const lt::storage_error&)>;

// Lets decode workers post their results to the network thread while the disk I/O lives, and
// drops them once it is gone (its destructor closes the gate).
struct PostGate {
    std::mutex mu;
    bool open = true;
};

// How long a piece's answer may wait for the other pieces under its chunks before the piece is
// hashed after all. Pieces in flight together arrive within a few milliseconds of each other on
// a LAN; a neighbour offered to another host, or fetched later, must not hold the piece back
// from the swarm for longer.
constexpr auto kNeighbourWait = std::chrono::milliseconds(20);

// Every method is called on libtorrent's network thread; handlers are posted back to it, as
// libtorrent's own disk I/O does, never called from inside the method that took them.
class MemoryDiskIo final : public lt::disk_interface, public lt::buffer_allocator_interface {
public:
    MemoryDiskIo(lt::io_context& ioc, std::shared_ptr<MemoryPack> pack,
                 std::shared_ptr<ChunkVerification> verification)
        : ioc_(ioc), pack_(std::move(pack)), verification_(std::move(verification)) {}
    ~MemoryDiskIo() override {
        std::lock_guard lock(gate_->mu);
        gate_->open = false;
    }
    MemoryDiskIo(const MemoryDiskIo&) = delete;
    MemoryDiskIo& operator=(const MemoryDiskIo&) = delete;

    lt::storage_holder new_torrent(const lt::storage_params& p,
                                   const std::shared_ptr<void>&) override {
        // The torrent's layout, checked against the pack once: a mismatch makes every read,
        // write and hash on it fail (see range()).
        piece_length_ = p.files.piece_length();
        matches_ =
            static_cast<std::uint64_t>(p.files.total_size()) == pack_->size() && piece_length_ > 0;
        if (matches_ && verification_ && pack_->writable()) {
            verifier_ = std::make_unique<PieceVerifier>(
                *verification_->manifest, static_cast<std::uint64_t>(piece_length_),
                [this](int piece) { return sha1_of(lt::piece_index_t{piece}) == expected(piece); });
            waiting_.assign(verifier_->pieces(), {});
        }
        return lt::storage_holder(lt::storage_index_t{0}, *this);
    }
    void remove_torrent(lt::storage_index_t) override {}

    void async_read(lt::storage_index_t, const lt::peer_request& r,
                    std::function<void(lt::disk_buffer_holder, const lt::storage_error&)> handler,
                    lt::disk_job_flags_t) override {
        auto bytes = range(r.piece, r.start, r.length);
        if (!bytes)
            return post([h = std::move(handler)] {
                h(lt::disk_buffer_holder(), invalid_request(lt::operation_t::file_read));
            });
        // The buffer points into the pack: a piece we have never changes, and free_disk_buffer
        // below gives nothing back.
        lt::disk_buffer_holder buffer(*this, bytes->data(), static_cast<int>(bytes->size()));
        post([h = std::move(handler),
              b = std::make_shared<lt::disk_buffer_holder>(std::move(buffer))]() mutable {
            h(std::move(*b), lt::storage_error());
        });
    }

    bool async_write(lt::storage_index_t, const lt::peer_request& r, const char* buf,
                     std::shared_ptr<lt::disk_observer>,
                     std::function<void(const lt::storage_error&)> handler,
                     lt::disk_job_flags_t) override {
        auto bytes = pack_->writable() ? range(r.piece, r.start, r.length) : std::nullopt;
        if (!bytes) {
            post([h = std::move(handler)] { h(invalid_request(lt::operation_t::file_write)); });
            return false;
        }
        if (verifier_)
            copy_around_final_chunks(r.piece, bytes->data(), buf, bytes->size());
        else
            std::memcpy(bytes->data(), buf, bytes->size());
        post([h = std::move(handler)] { h(lt::storage_error()); });
        return false;  // never a backlog: the caller need not wait for the observer
    }

    void async_hash(
        lt::storage_index_t, lt::piece_index_t piece, lt::span<lt::sha256_hash>,
        lt::disk_job_flags_t,
        std::function<void(lt::piece_index_t, const lt::sha1_hash&, const lt::storage_error&)>
            handler) override {
        auto bytes = whole_piece(piece);
        if (!bytes)
            return post([h = std::move(handler), piece] {
                h(piece, lt::sha1_hash(), invalid_request(lt::operation_t::file_read));
            });
        if (verifier_) {
            waiting_[static_cast<std::size_t>(static_cast<int>(piece))].push_back(std::move(handler));
            apply(verifier_->piece_in(static_cast<int>(piece)));
            if (verifier_->waiting(static_cast<int>(piece))) wait_for_neighbours(static_cast<int>(piece));
            return;
        }
        post([h = std::move(handler), piece, digest = sha1_of(piece)] {
            h(piece, digest, lt::storage_error());
        });
    }

    void async_hash2(
        lt::storage_index_t, lt::piece_index_t piece, int, lt::disk_job_flags_t,
        std::function<void(lt::piece_index_t, const lt::sha256_hash&, const lt::storage_error&)>
            handler) override {
        // Image torrents are v1 only (image_torrent.cc refuses others).
        post([h = std::move(handler), piece] {
            h(piece, lt::sha256_hash(), invalid_request(lt::operation_t::file_read));
        });
    }

    void async_move_storage(
        lt::storage_index_t, std::string path, lt::move_flags_t,
        std::function<void(lt::status_t, const std::string&, const lt::storage_error&)> handler)
        override {
        post([h = std::move(handler), path = std::move(path)] {
            h(lt::status_t::no_error, path, lt::storage_error());
        });
    }
    void async_release_files(lt::storage_index_t, std::function<void()> handler) override {
        post_if(std::move(handler));
    }
    void async_check_files(
        lt::storage_index_t, const lt::add_torrent_params*,
        lt::aux::vector<std::string, lt::file_index_t>,
        std::function<void(lt::status_t, const lt::storage_error&)> handler) override {
        // A receiver's pack holds nothing yet: no piece to check. A seed's mapped file is
        // checked piece by piece (libtorrent hashes each through async_hash), as its own
        // storage does with a file already there: a pack that does not match is not seeded.
        auto status = pack_->writable() ? lt::status_t::no_error : lt::status_t::need_full_check;
        post([h = std::move(handler), status] { h(status, lt::storage_error()); });
    }
    void async_stop_torrent(lt::storage_index_t, std::function<void()> handler) override {
        post_if(std::move(handler));
    }
    void async_rename_file(
        lt::storage_index_t, lt::file_index_t index, std::string name,
        std::function<void(const std::string&, lt::file_index_t, const lt::storage_error&)> handler)
        override {
        post([h = std::move(handler), index, name = std::move(name)] {
            h(name, index, lt::storage_error());
        });
    }
    void async_delete_files(lt::storage_index_t, lt::remove_flags_t,
                            std::function<void(const lt::storage_error&)> handler) override {
        post([h = std::move(handler)] { h(lt::storage_error()); });
    }
    void async_set_file_priority(
        lt::storage_index_t, lt::aux::vector<lt::download_priority_t, lt::file_index_t> prio,
        std::function<void(const lt::storage_error&,
                           lt::aux::vector<lt::download_priority_t, lt::file_index_t>)>
            handler) override {
        post([h = std::move(handler), prio = std::move(prio)]() mutable {
            h(lt::storage_error(), std::move(prio));
        });
    }
    void async_clear_piece(lt::storage_index_t, lt::piece_index_t index,
                           std::function<void(lt::piece_index_t)> handler) override {
        // A piece that failed its hash is simply written again over the same bytes.
        post([h = std::move(handler), index] { h(index); });
    }

    void update_stats_counters(lt::counters&) const override {}
    std::vector<lt::open_file_state> get_status(lt::storage_index_t) const override { return {}; }
    void abort(bool) override {
        if (timer_) timer_->cancel();
    }
    void submit_jobs() override {}
    void settings_updated() override {}

    void free_disk_buffer(char*) override {}  // buffers are views of the pack

private:
    template <typename F>
    void post(F&& f) {
        boost::asio::post(ioc_, std::forward<F>(f));
    }

    lt::sha1_hash expected(int piece) const {
        return verification_->torrent->hash_for_piece(lt::piece_index_t{piece});
    }
    lt::sha1_hash sha1_of(lt::piece_index_t piece) {
        auto bytes = whole_piece(piece);
        if (!bytes) return lt::sha1_hash();
        return lt::hasher(bytes->data(), static_cast<int>(bytes->size())).final();
    }

    // Answers the pieces a step decided (a failed one with a digest that differs from the
    // torrent's, so libtorrent fetches it again), and starts the decodes it asked for.
    void apply(PieceVerifier::Step step) {
        for (const auto& answered : step.answers) {
            const int piece = answered.first;
            lt::sha1_hash digest = expected(piece);
            if (!answered.second) digest[0] ^= 0xff;
            for (auto& h : std::exchange(waiting_[static_cast<std::size_t>(piece)], {})) {
                post([h = std::move(h), piece, digest] {
                    h(lt::piece_index_t{piece}, digest, lt::storage_error());
                });
            }
        }
        verification_->pieces_hashed = verifier_->pieces_hashed();
        if (!step.error) verification_->fail(step.error);
        for (std::size_t chunk : step.decode) {
            verification_->decode(chunk, [this, gate = gate_, chunk](bool verified) {
                std::lock_guard lock(gate->mu);
                if (!gate->open) return;
                post([this, gate, chunk, verified] {
                    {
                        std::lock_guard still(gate->mu);
                        if (!gate->open) return;
                    }
                    apply(verifier_->chunk_decoded(chunk, verified));
                });
            });
        }
    }

    void wait_for_neighbours(int piece) {
        since_.emplace_back(std::chrono::steady_clock::now(), piece);
        arm_timer();
    }
    // Hashes the pieces that have waited kNeighbourWait; one that waits on a decode as well
    // waits on.
    void arm_timer() {
        if (timer_armed_ || since_.empty()) return;
        if (!timer_) timer_ = std::make_unique<boost::asio::steady_timer>(ioc_);
        timer_armed_ = true;
        timer_->expires_at(since_.front().first + kNeighbourWait);
        timer_->async_wait([this, gate = gate_](const boost::system::error_code& ec) {
            if (ec) return;  // cancelled: the disk I/O stops
            {
                std::lock_guard still(gate->mu);
                if (!gate->open) return;
            }
            timer_armed_ = false;
            const auto now = std::chrono::steady_clock::now();
            std::vector<int> again;
            while (!since_.empty() && since_.front().first + kNeighbourWait <= now) {
                int p = since_.front().second;
                since_.pop_front();
                apply(verifier_->hash_now(p));
                if (verifier_->waiting(p)) again.push_back(p);
            }
            for (int p : again) since_.emplace_back(now, p);
            arm_timer();
        });
    }

    // Copies a received block into the pack, except the bytes of chunks already verified:
    // those are final (piece_verifier.h), whoever sends the piece again.
    void copy_around_final_chunks(lt::piece_index_t piece, char* to, const char* from,
                                  std::size_t length) {
        const auto begin = static_cast<std::uint64_t>(to - pack_->data());
        const auto end = begin + length;
        std::vector<std::pair<std::uint64_t, std::uint64_t>> keep;  // final spans in the block
        for (std::uint32_t c : verifier_->chunks_of(static_cast<int>(piece))) {
            if (!verifier_->chunk_final(c)) continue;
            const auto& e = verification_->manifest->chunks[c];
            std::uint64_t from_c = std::max(begin, e.pack_offset);
            std::uint64_t to_c = std::min(end, e.pack_offset + e.pack_size);
            if (from_c < to_c) keep.emplace_back(from_c, to_c);
        }
        std::sort(keep.begin(), keep.end());
        std::uint64_t at = begin;
        for (const auto& [k_from, k_to] : keep) {
            if (k_from > at) std::memcpy(to + (at - begin), from + (at - begin), k_from - at);
            at = std::max(at, k_to);
        }
        if (at < end) std::memcpy(to + (at - begin), from + (at - begin), end - at);
    }
    void post_if(std::function<void()> handler) {
        if (handler) post(std::move(handler));
    }

    std::optional<std::span<char>> range(lt::piece_index_t piece, int start, int length) {
        if (!matches_ || static_cast<int>(piece) < 0 || start < 0 || length < 0)
            return std::nullopt;
        if (start + static_cast<std::int64_t>(length) > piece_length_) return std::nullopt;
        auto offset = static_cast<std::uint64_t>(static_cast<int>(piece)) *
                          static_cast<std::uint64_t>(piece_length_) +
                      static_cast<std::uint64_t>(start);
        return pack_->range(offset, static_cast<std::uint64_t>(length));
    }
    std::optional<std::span<char>> whole_piece(lt::piece_index_t piece) {
        if (!matches_ || static_cast<int>(piece) < 0) return std::nullopt;
        auto offset = static_cast<std::uint64_t>(static_cast<int>(piece)) *
                      static_cast<std::uint64_t>(piece_length_);
        if (offset >= pack_->size()) return std::nullopt;
        return pack_->range(offset,
                            std::min<std::uint64_t>(static_cast<std::uint64_t>(piece_length_),
                                                    pack_->size() - offset));
    }

    lt::io_context& ioc_;
    std::shared_ptr<MemoryPack> pack_;
    std::shared_ptr<ChunkVerification> verification_;
    std::unique_ptr<PieceVerifier> verifier_;    // a receiver's, once the torrent is added
    std::vector<std::vector<HashHandler>> waiting_;  // piece -> hash answers not given yet
    std::shared_ptr<PostGate> gate_ = std::make_shared<PostGate>();
    std::deque<std::pair<std::chrono::steady_clock::time_point, int>> since_;  // waiting pieces
    std::unique_ptr<boost::asio::steady_timer> timer_;
    bool timer_armed_ = false;
    int piece_length_ = 0;
    bool matches_ = false;
};

}  // namespace

lt::disk_io_constructor_type memory_disk_io(std::shared_ptr<MemoryPack> pack,
                                            std::shared_ptr<ChunkVerification> verification) {
    return [pack = std::move(pack), verification = std::move(verification)](
               lt::io_context& ioc, const lt::settings_interface&, lt::counters&) {
        return std::unique_ptr<lt::disk_interface>(
            std::make_unique<MemoryDiskIo>(ioc, pack, verification));
    };
}

}  // namespace imaging::torrent
