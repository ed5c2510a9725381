#include "imaging/torrent/receiver.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <system_error>
#include <utility>

#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_status.hpp>

#include "imaging/target.h"
#include "imaging/worker_pool.h"
#include "imaging/torrent/block_counts.h"
#include "imaging/torrent/chunk_assembler.h"
#include "imaging/torrent/chunk_writer.h"
#include "imaging/torrent/memory_disk_io.h"
#include "imaging/torrent/memory_pack.h"
#include "imaging/torrent/offering.h"
#include "imaging/torrent/ssl_peers.h"

namespace imaging::torrent {
namespace {

using Clock = std::chrono::steady_clock;

// One receive: the state the alert loop updates.
class Receive {
public:
    // pack: where libtorrent keeps the pack; null: the staging file.
    Receive(const ImageTorrent& t, const ReceiveOptions& o, std::optional<PeerCredentials> credentials,
            Target& target, std::shared_ptr<MemoryPack> pack)
        : t_(t),
          o_(o),
          credentials_(std::move(credentials)),
          assembler_(t.manifest, static_cast<std::uint64_t>(t.info->piece_length())),
          pack_(std::move(pack)),
          writer_(pack_ ? std::make_unique<ChunkWriter>(t.manifest, *pack_, target)
                        : std::make_unique<ChunkWriter>(t.manifest, o.staging_dir / kPackFile, target)),
          target_(target) {
        // Chunks in memory decode on every core, so libtorrent's network thread, which asks
        // for them (memory_disk_io.h), never waits on zstd and SHA-256; every chunk may queue
        // (a task is a chunk's index, its frame a view of the pack), so asking never blocks.
        for (const auto& c : t.manifest.chunks) stored_chunks_ += c.is_zero() ? 0 : 1;
        if (pack_) {
            decoders_ = std::make_unique<WorkerPool>(0, t.manifest.chunks.size() + 1);
            verification_ = std::make_shared<ChunkVerification>();
            verification_->torrent = t.info;
            verification_->manifest = &t.manifest;
            verification_->decode = [this](std::size_t chunk, std::function<void(bool)> done) {
                ChunkWriter* writer = writer_.get();
                auto* verified = &verified_chunks_;
                decoders_->submit([writer, verified, chunk, done = std::move(done)]() -> Status {
                    auto written = writer->try_write_chunk(chunk);
                    if (!written) return written.status();
                    if (*written) ++*verified;
                    done(*written);
                    return Status::ok();
                });
            };
            verification_->fail = [this](Status s) {
                std::lock_guard lock(mu_);
                if (mismatch_.is_ok()) mismatch_ = std::move(s);
            };
        }
    }

    Result<ReceiveReport> run();

private:
    Status handle(lt::alert* a);
    Status piece_in(lt::piece_index_t piece);
    void read_counts();
    std::uint64_t pieces_hashed() const {
        return verification_ ? verification_->pieces_hashed.load()
                             : static_cast<std::uint64_t>(t_.info->num_pieces());
    }

    const ImageTorrent& t_;
    const ReceiveOptions& o_;
    std::optional<PeerCredentials> credentials_;
    ChunkAssembler assembler_;
    std::shared_ptr<MemoryPack> pack_;
    std::unique_ptr<ChunkWriter> writer_;
    std::unique_ptr<WorkerPool> decoders_;  // memory pack only
    // Memory pack only: pieces answered from chunk verification (memory_disk_io.h).
    std::shared_ptr<ChunkVerification> verification_;
    std::atomic<std::size_t> verified_chunks_{0};
    std::mutex mu_;
    Status mismatch_;  // the torrent does not match its manifest (network thread)
    std::shared_ptr<BlockCounts> counts_ = std::make_shared<BlockCounts>();
    Target& target_;
    lt::torrent_handle handle_;
    ReceiveReport report_;
    std::string last_tls_failure_;
    Clock::time_point start_ = Clock::now();
    Clock::time_point last_data_ = Clock::now();
    std::size_t stored_chunks_ = 0;
};

void Receive::read_counts() {
    report_.bytes_from_seed = counts_->from_seed.load();
    report_.bytes_from_peers = counts_->from_peers.load();
    report_.bytes_received = report_.bytes_from_seed + report_.bytes_from_peers;
    auto last = Clock::time_point(Clock::duration(counts_->last_block.load()));
    if (last > last_data_) last_data_ = last;
    if (o_.progress) o_.progress->set_done(std::min(report_.bytes_received, t_.manifest.pack_size));
}

Status Receive::piece_in(lt::piece_index_t piece) {
    for (std::size_t chunk : assembler_.piece_done(static_cast<int>(piece))) {
        if (decoders_) {
            ChunkWriter* writer = writer_.get();
            if (!decoders_->submit([writer, chunk] { return writer->write_chunk(chunk); }))
                return decoders_->wait();
        } else if (Status s = writer_->write_chunk(chunk); !s) {
            return s;
        }
    }
    return Status::ok();
}

Status Receive::handle(lt::alert* a) {
    if (auto* p = lt::alert_cast<lt::piece_finished_alert>(a)) {
        // A memory pack's chunks were written before their pieces passed.
        if (pack_) return Status::ok();
        return piece_in(p->piece_index);
    } else if (lt::alert_cast<lt::hash_failed_alert>(a)) {
        ++report_.hash_failures;
    } else if (!pack_ && lt::alert_cast<lt::torrent_checked_alert>(a)) {
        // Pieces a previous run left in the staging pack: found by the check, not downloaded.
        auto st = handle_.status(lt::torrent_handle::query_pieces);
        for (int i = 0; i < st.pieces.size(); ++i) {
            if (!st.pieces[lt::piece_index_t{i}]) continue;
            if (Status s = piece_in(lt::piece_index_t{i}); !s) return s;
        }
    } else if (auto* pd = lt::alert_cast<lt::peer_disconnected_alert>(a)) {
        // A TLS handshake that failed: a peer of another swarm's CA, or ours refused by it.
        if (pd->op == lt::operation_t::ssl_handshake) last_tls_failure_ = pd->message();
    } else if (auto* lf = lt::alert_cast<lt::listen_failed_alert>(a)) {
        return Status::error("listen on " + o_.session.listen + ": " + lf->message());
    } else if (auto* te = lt::alert_cast<lt::torrent_error_alert>(a)) {
        return Status::error("torrent: " + te->message());
    } else if (auto* fe = lt::alert_cast<lt::file_error_alert>(a)) {
        return Status::error("staging pack: " + fe->message());
    }
    return Status::ok();
}

Result<ReceiveReport> Receive::run() {
    if (Status s = writer_->write_zero_chunks(); !s) return s;
    SessionOptions session_options = o_.session;
    session_options.ssl = credentials_.has_value();
    if (pack_) session_options.disk_io = memory_disk_io(pack_, verification_);
    report_.pack_in_memory = pack_ != nullptr;
    auto session = make_lan_session(session_options);
    lt::add_torrent_params p;
    p.ti = t_.info;
    p.save_path = o_.staging_dir.string();
    p.extensions.push_back([](const lt::torrent_handle&, lt::client_data_t) { return offer_taking_plugin(); });
    p.extensions.push_back([counts = counts_](const lt::torrent_handle&, lt::client_data_t) {
        return block_counting_plugin(counts);
    });
    auto added = add_swarm_torrent(*session, std::move(p), credentials_);
    if (!added) return added.status();
    handle_ = *added;
    if (o_.progress) o_.progress->set_total(t_.manifest.pack_size);

    std::optional<Clock::time_point> verified_at;
    Status failure;
    for (;;) {
        session->wait_for_alert(std::chrono::milliseconds(200));
        std::vector<lt::alert*> alerts;
        session->pop_alerts(&alerts);
        for (lt::alert* a : alerts) {
            if (failure = handle(a); !failure) break;
        }
        if (!failure) break;
        read_counts();
        if (decoders_ && decoders_->failed()) {
            failure = decoders_->wait();
            break;
        }
        {
            std::lock_guard lock(mu_);
            if (failure = mismatch_; !failure) break;
        }
        auto now = Clock::now();
        std::size_t pending = pack_ ? stored_chunks_ - verified_chunks_.load()
                                    : assembler_.pending_chunks();
        if (!verified_at && pending == 0) {
            if (decoders_) {
                if (failure = decoders_->wait(); !failure) break;
            }
            if (failure = target_.sync(); !failure) break;
            verified_at = now;
            report_.seconds = std::chrono::duration<double>(now - start_).count();
            report_.sha256 = t_.manifest.image_sha256;
            report_.bytes_written = writer_->bytes_written();
            report_.chunks = writer_->chunks_written();
            report_.pieces_hashed = pieces_hashed();
            if (o_.progress) o_.progress->finish();
            if (o_.on_verified) o_.on_verified(report_);
        }
        bool stop = o_.should_stop && o_.should_stop();
        if (verified_at && (stop || now - *verified_at >= o_.seed_for)) break;
        if (!verified_at && stop) {
            failure = Status::error("interrupted before the image was complete");
            break;
        }
        if (!verified_at && now - last_data_ > o_.stall_timeout) {
            failure = Status::error(
                "no data for " + std::to_string(o_.stall_timeout.count()) +
                " s (is the seed or tracker reachable?" +
                (last_tls_failure_.empty() ? std::string(")")
                                           : "; the last TLS handshake failed: " + last_tls_failure_ + ")"));
            break;
        }
    }
    report_.bytes_uploaded = static_cast<std::uint64_t>(handle_.status().total_payload_upload);
    report_.pieces_hashed = pieces_hashed();
    session->remove_torrent(handle_);
    session.reset();  // first: its disk I/O takes no decode result once gone
    decoders_.reset();
    if (!failure) return failure;
    return report_;
}

// Two receivers sharing a staging directory would overwrite each other's pack: the first one
// holds an exclusive lock on STAGING/.lock, the second is refused with a clear error.
class StagingLock {
public:
    static Result<StagingLock> take(const std::filesystem::path& dir) {
        auto path = dir / ".lock";
        int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) return Status::error("staging lock " + path.string() + ": " + std::strerror(errno));
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int err = errno;
            ::close(fd);
            if (err == EWOULDBLOCK) {
                return Status::error("staging directory " + dir.string() +
                                     " is in use by another receive; give this one its own --staging");
            }
            return Status::error("staging lock " + path.string() + ": " + std::strerror(err));
        }
        return StagingLock(fd, path);
    }
    StagingLock(StagingLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)) {}
    StagingLock(const StagingLock&) = delete;
    StagingLock& operator=(const StagingLock&) = delete;
    StagingLock& operator=(StagingLock&&) = delete;
    ~StagingLock() {
        if (fd_ < 0) return;
        std::error_code ec;
        std::filesystem::remove(path_, ec);  // while still locked: no one else is mid-take
        ::close(fd_);
    }

private:
    StagingLock(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
    int fd_;
    std::filesystem::path path_;
};

}  // namespace

Result<ReceiveReport> run_receive(const ImageTorrent& torrent, const ReceiveOptions& options) {
    auto credentials = peer_credentials_for(torrent, options.peer_pem);
    if (!credentials) return credentials.status();
    std::error_code ec;
    std::filesystem::create_directories(options.staging_dir, ec);
    if (ec) return Status::error("staging directory " + options.staging_dir.string() + ": " + ec.message());
    auto lock = StagingLock::take(options.staging_dir);
    if (!lock) return lock.status();
    auto target = Target::open(options.output, torrent.manifest.raw_size);
    if (!target) return target.status();
    std::shared_ptr<MemoryPack> pack;
    bool staging_pack_there = std::filesystem::exists(options.staging_dir / kPackFile, ec);
    if (!options.keep_staging && !staging_pack_there && pack_fits_in_memory(torrent.manifest.pack_size))
        pack = std::make_shared<MemoryPack>(torrent.manifest.pack_size);
    Receive receive(torrent, options, std::move(*credentials), **target, std::move(pack));
    auto result = receive.run();
    if (!options.keep_staging) std::filesystem::remove(options.staging_dir / kPackFile, ec);
    return result;
}

}  // namespace imaging::torrent
