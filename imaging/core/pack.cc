#include "imaging/pack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "base/atomic_file.h"
#include "base/unique_fd.h"
#include "imaging/chunk.h"
#include "imaging/digest.h"

namespace imaging {

namespace {

using Fd = base::UniqueFd;

Status pread_full(int fd, std::uint8_t* buf, std::size_t len, std::uint64_t off) {
    std::size_t got = 0;
    while (got < len) {
        ssize_t n = ::pread(fd, buf + got, len - got, off_t(off + got));
        if (n < 0) return errno_status("reading raw image");
        if (n == 0) return Status::error("raw image shrank while packing");
        got += std::size_t(n);
    }
    return Status::ok();
}

Status write_full(int fd, const std::uint8_t* buf, std::size_t len, const std::string& what) {
    while (len > 0) {
        ssize_t n = ::write(fd, buf, len);
        if (n < 0) return errno_status("writing " + what);
        buf += n;
        len -= std::size_t(n);
    }
    return Status::ok();
}

// A chunk after the workers are done with it: raw bytes (for the whole-image hash, which must
// be computed in order) and its frame.
struct PackedChunk {
    std::vector<std::uint8_t> raw;
    std::vector<std::uint8_t> frame;  // empty: all zero
    Digest sha{};
    Status status;
};

}  // namespace

Result<Manifest> pack_image(const std::filesystem::path& raw, const std::filesystem::path& outdir,
                            const SigningKey& key, const PackOptions& options) {
    if (options.chunk_size == 0 || options.chunk_size % 4096)
        return Status::error("chunk size must be a positive multiple of 4096");
    Fd in(::open(raw.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.get() < 0) return errno_status("cannot open " + raw.string());
    struct stat st {};
    if (::fstat(in.get(), &st) != 0) return errno_status("stat " + raw.string());
    std::uint64_t raw_size = std::uint64_t(st.st_size);
    if (S_ISBLK(st.st_mode)) {
        off_t end = ::lseek(in.get(), 0, SEEK_END);
        if (end < 0) return errno_status("size of " + raw.string());
        raw_size = std::uint64_t(end);
    } else if (!S_ISREG(st.st_mode)) {
        return Status::error(raw.string() + " is neither a regular file nor a block device");
    }
    if (raw_size == 0) return Status::error(raw.string() + " is empty");

    std::error_code ec;
    std::filesystem::create_directories(outdir, ec);
    if (ec) return Status::error("cannot create " + outdir.string() + ": " + ec.message());
    auto pack_tmp = outdir / (std::string(kPackFile) + ".tmp");
    Fd out(::open(pack_tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (out.get() < 0) return errno_status("cannot create " + pack_tmp.string());

    Manifest m;
    m.name = options.name;
    m.version = options.version;
    m.raw_size = raw_size;
    m.chunk_size = options.chunk_size;
    const std::size_t count = std::size_t((raw_size + m.chunk_size - 1) / m.chunk_size);
    m.chunks.resize(count);

    unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    // Workers run ahead of the in-order writer by at most this many chunks (bounds memory).
    const std::size_t window = std::size_t(threads) * 4;

    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::optional<PackedChunk>> ready;  // ready[k] is chunk (written + k)
    std::size_t written = 0;
    std::atomic<std::size_t> next{0};
    std::atomic<bool> abort{false};

    auto worker = [&] {
        for (;;) {
            std::size_t i = next.fetch_add(1);
            if (i >= count || abort) return;
            {
                std::unique_lock lock(mu);
                cv.wait(lock, [&] { return i < written + window || abort; });
                if (abort) return;
            }
            PackedChunk c;
            c.raw.resize(m.chunk_length(i));
            c.status = pread_full(in.get(), c.raw.data(), c.raw.size(), m.chunk_offset(i));
            if (c.status) {
                c.sha = sha256(c.raw);
                if (!is_all_zero(c.raw)) c.frame = compress_chunk(c.raw, options.level);
            }
            std::lock_guard lock(mu);
            std::size_t slot = i - written;
            if (ready.size() <= slot) ready.resize(slot + 1);
            ready[slot] = std::move(c);
            cv.notify_all();
        }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker);

    Sha256Stream whole;
    std::uint64_t pack_offset = 0;
    Status status;
    for (std::size_t i = 0; i < count && status; ++i) {
        PackedChunk c;
        {
            std::unique_lock lock(mu);
            cv.wait(lock, [&] { return !ready.empty() && ready.front().has_value(); });
            c = std::move(*ready.front());
            ready.pop_front();
            ++written;
            cv.notify_all();
        }
        if (!c.status) {
            status = c.status;
            break;
        }
        whole.update(c.raw);
        m.chunks[i].sha256 = c.sha;
        m.chunks[i].pack_offset = pack_offset;
        m.chunks[i].pack_size = std::uint32_t(c.frame.size());
        status = write_full(out.get(), c.frame.data(), c.frame.size(), pack_tmp.string());
        pack_offset += c.frame.size();
        if (options.on_progress) options.on_progress(m.chunk_offset(i) + c.raw.size(), raw_size);
    }
    {
        std::lock_guard lock(mu);
        abort = true;
        cv.notify_all();
    }
    for (auto& t : pool) t.join();
    if (!status) {
        std::filesystem::remove(pack_tmp, ec);
        return status;
    }
    if (::fsync(out.get()) != 0) return errno_status("fsync " + pack_tmp.string());

    m.image_sha256 = whole.finish();
    m.pack_size = pack_offset;
    if (auto s = m.sign(key); !s) return s;

    // Replace any previous image so that manifest and pack never disagree: the old manifest goes
    // first, the new one arrives last.
    auto manifest_path = outdir / kManifestFile;
    std::filesystem::remove(manifest_path, ec);
    std::filesystem::rename(pack_tmp, outdir / kPackFile, ec);
    if (ec) return Status::error("cannot rename pack: " + ec.message());
    // Its directory's fsync makes the pack's rename durable too.
    if (auto s = base::write_file_atomically(manifest_path, m.to_json()); !s) return s;
    return m;
}

}  // namespace imaging
