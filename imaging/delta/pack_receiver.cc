#include "pack_receiver.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <utility>

#include "base/atomic_file.h"
#include "client_handshake.h"
#include "imaging/chunk.h"
#include "imaging/delivery.h"
#include "imaging/packed_image.h"
#include "wire.h"

namespace imaging::delta {

namespace {

constexpr const char* kPartMarker = ".part-";
constexpr std::size_t kMaxItemsPerWant = 4096;

std::string errno_text() { return std::strerror(errno); }

// The pack under construction: written at the manifest's offsets, read back for a receipt.
class PackFile {
public:
    ~PackFile() {
        if (fd_ >= 0) ::close(fd_);
    }
    Status create(const std::filesystem::path& path, std::uint64_t size) {
        path_ = path;
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd_ < 0) return Status::error("creating " + path.string() + ": " + errno_text());
        if (size == 0) return Status::ok();
        // Claim the space first, so that a full disk is one clear error before any transfer.
        int err = ::posix_fallocate(fd_, 0, off_t(size));
        if (err == ENOSPC)
            return Status::error("no space for " + path.string() + ": it needs " +
                                 std::to_string(size) + " bytes");
        if (err != 0 && ::ftruncate(fd_, off_t(size)) != 0)  // no fallocate on this filesystem
            return Status::error("sizing " + path.string() + ": " + errno_text());
        return Status::ok();
    }
    Status write(std::uint64_t offset, std::span<const std::uint8_t> data) {
        std::size_t done = 0;
        while (done < data.size()) {
            ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, off_t(offset + done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0)
                return Status::error("writing " + path_.string() + ": " +
                                     (n < 0 ? errno_text() : std::string("nothing written")));
            done += std::size_t(n);
        }
        return Status::ok();
    }
    Status read(std::uint64_t offset, std::span<std::uint8_t> out) const {
        std::size_t done = 0;
        while (done < out.size()) {
            ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, off_t(offset + done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return Status::error("reading " + path_.string() + " back: short read");
            done += std::size_t(n);
        }
        return Status::ok();
    }
    Status sync() {
        if (::fsync(fd_) != 0) return Status::error("fsync " + path_.string() + ": " + errno_text());
        return Status::ok();
    }

private:
    std::filesystem::path path_;
    int fd_ = -1;
};

// The temporary directory beside dest; removed unless released (renamed into place).
class PartialDir {
public:
    explicit PartialDir(const std::filesystem::path& dest) {
        std::random_device rd;
        path_ = dest.parent_path() /
                ("." + dest.filename().string() + kPartMarker + std::to_string(::getpid()) + "-" +
                 std::to_string(rd()));
    }
    ~PartialDir() {
        if (!released_) {
            std::error_code ec;
            std::filesystem::remove_all(path_, ec);
        }
    }
    const std::filesystem::path& path() const { return path_; }
    void release() { released_ = true; }

private:
    std::filesystem::path path_;
    bool released_ = false;
};

// Where a chunk's frame may be copied from: an open basis and its chunk.
struct BasisFrame {
    const PackedImage* image = nullptr;
    std::size_t chunk = 0;
};

Status check_and_write(PackFile& pack, const Manifest& m, std::uint32_t chunk,
                       std::span<const std::uint8_t> frame, std::vector<std::uint8_t>& raw) {
    const ChunkEntry& e = m.chunks[chunk];
    if (frame.size() != e.pack_size)
        return Status::error("the frame of chunk " + std::to_string(chunk) + " is " +
                             std::to_string(frame.size()) + " bytes, the manifest says " +
                             std::to_string(e.pack_size));
    raw.resize(m.chunk_length(chunk));
    if (auto s = decode_chunk(frame, raw, e.sha256); !s)
        return s.context("chunk " + std::to_string(chunk));
    return pack.write(e.pack_offset, frame);
}

}  // namespace

Result<PackReceiveReport> receive_pack_over(FramedStream& stream, const VerifyKey& key,
                                            const PackReceiveOptions& o, Progress* progress) {
    const auto start = std::chrono::steady_clock::now();
    if (!o.receiver_id.empty() && (!o.secret || !valid_receiver_id(o.receiver_id)))
        return Status::error("a receiver id needs a secret and 1 to 64 of [A-Za-z0-9._:/-]");
    std::error_code ec;
    if (std::filesystem::exists(o.dest, ec))
        return Status::error(o.dest.string() + " exists already; a pack is received into a new directory");
    Nonces nonces;
    auto manifest = handshake(stream, key, o.expect, o.secret, o.receiver_id, o.timeout, nonces);
    if (!manifest) return manifest.status();
    const Manifest& m = *manifest;

    // Frames an earlier copy holds, by the raw chunk's SHA-256 and stored size: the same data
    // packed the same way. A basis that does not open (gone, or not signed by our key) is skipped.
    std::vector<std::shared_ptr<PackedImage>> bases;
    std::map<std::pair<Digest, std::uint32_t>, BasisFrame> reusable;
    for (const auto& dir : o.bases) {
        auto b = PackedImage::open(dir, key);
        if (!b) continue;
        bases.push_back(*b);
        const Manifest& bm = bases.back()->manifest();
        for (std::size_t i = 0; i < bm.chunks.size(); ++i)
            if (!bm.chunks[i].is_zero())
                reusable.try_emplace({bm.chunks[i].sha256, bm.chunks[i].pack_size},
                                     BasisFrame{bases.back().get(), i});
    }

    PartialDir part(o.dest);
    if (!std::filesystem::create_directory(part.path(), ec))
        return Status::error("creating " + part.path().string() + ": " + ec.message());
    PackFile pack;
    if (auto s = pack.create(part.path() / kPackFile, m.pack_size); !s) return s;

    PackReceiveReport report;
    std::vector<std::uint8_t> raw;
    std::vector<std::uint32_t> fetch;
    if (progress) progress->set_total(m.stored_bytes());
    for (std::uint32_t i = 0; i < m.chunks.size(); ++i) {
        const ChunkEntry& e = m.chunks[i];
        if (e.is_zero()) continue;
        report.chunks_stored++;
        auto it = reusable.find({e.sha256, e.pack_size});
        if (it != reusable.end()) {
            auto frame = it->second.image->read_frame(it->second.chunk);
            // A basis frame that does not read or verify is fetched instead.
            if (frame && check_and_write(pack, m, i, *frame, raw)) {
                report.chunks_reused++;
                if (progress) progress->advance(e.pack_size);
                continue;
            }
        }
        fetch.push_back(i);
    }

    // Whole frames, in batches of about batch_bytes; each answer in the order asked.
    for (std::size_t next = 0; next < fetch.size();) {
        std::vector<WantItem> items;
        std::uint64_t bytes = 0;
        while (next < fetch.size() && (items.empty() || bytes < o.batch_bytes) &&
               items.size() < kMaxItemsPerWant) {
            items.push_back({fetch[next], true, {}});
            bytes += m.chunks[fetch[next]].pack_size;
            ++next;
        }
        if (auto s = stream.send(MsgType::kWant, encode_want(items), o.timeout); !s) return s;
        for (const WantItem& item : items) {
            auto msg = stream.receive(o.timeout);
            if (!msg) return msg.status();
            if (msg->type == MsgType::kError)
                return Status::error("the server refused: " +
                                     std::string(msg->body.begin(), msg->body.end()));
            ByteReader r(msg->body);
            if (msg->type != MsgType::kFrame || r.u32() != item.chunk || r.failed())
                return Status::error("the server answered out of order");
            auto frame = r.rest();
            if (auto s = check_and_write(pack, m, item.chunk, frame, raw); !s)
                return s.context("from the server");
            report.chunks_fetched++;
            report.bytes_fetched += frame.size();
            if (progress) progress->advance(frame.size());
        }
    }
    if (auto s = pack.sync(); !s) return s;
    if (auto s = base::write_file_atomically(part.path() / kManifestFile, m.to_json()); !s)
        return s;

    if (!o.receiver_id.empty()) {
        auto read_back = [&](std::uint32_t chunk, std::span<std::uint8_t> out) -> Status {
            const ChunkEntry& e = m.chunks[chunk];
            if (e.is_zero()) {
                std::fill(out.begin(), out.end(), 0);
                return Status::ok();
            }
            std::vector<std::uint8_t> frame(e.pack_size);
            if (auto s = pack.read(e.pack_offset, frame); !s) return s;
            return decode_chunk(frame, out, e.sha256);
        };
        if (auto s = confirm_delivery(stream, m, *o.secret, nonces, o.timeout, read_back); !s) return s;
        report.delivery_confirmed = true;
    }
    (void)stream.send(MsgType::kDone, {}, std::chrono::seconds(2));

    if (::rename(part.path().c_str(), o.dest.c_str()) != 0)
        return Status::error("renaming " + part.path().string() + " to " + o.dest.string() + ": " +
                             errno_text());
    part.release();
    if (auto s = base::sync_path(o.dest.parent_path()); !s) return s;
    report.manifest = m;
    report.bytes_received = stream.bytes_in();
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

Result<PackReceiveReport> receive_pack(const PackReceiveOptions& o, const VerifyKey& key,
                                       Progress* progress) {
    auto stream = FramedStream::connect(o.server, o.timeout);
    if (!stream) return stream.status();
    return receive_pack_over(**stream, key, o, progress);
}

std::size_t remove_partial(const std::filesystem::path& dir) {
    std::size_t removed = 0;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.size() > 1 && name[0] == '.' && name.find(kPartMarker) != std::string::npos) {
            std::error_code rm;
            std::filesystem::remove_all(entry.path(), rm);
            removed += !rm;
        }
    }
    return removed;
}

}  // namespace imaging::delta
