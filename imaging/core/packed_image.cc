#include "imaging/packed_image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "imaging/chunk.h"

namespace imaging {

namespace {

Result<std::shared_ptr<PackedImage>> open_with(const std::filesystem::path& dir,
                                               Result<Manifest> manifest,
                                               PackedImage* (*make)(std::filesystem::path, Manifest, int)) {
    if (!manifest) return manifest.status();
    auto pack_path = dir / kPackFile;
    int fd = ::open(pack_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_status("cannot open " + pack_path.string());
    struct stat st {};
    if (::fstat(fd, &st) != 0 || std::uint64_t(st.st_size) != manifest->pack_size) {
        ::close(fd);
        return Status::error(pack_path.string() + " is " + std::to_string(st.st_size) +
                             " bytes but the manifest says " +
                             std::to_string(manifest->pack_size) + " (truncated or replaced?)");
    }
    return std::shared_ptr<PackedImage>(make(dir, std::move(*manifest), fd));
}

}  // namespace

PackedImage::PackedImage(std::filesystem::path dir, Manifest m, int fd)
    : dir_(std::move(dir)), manifest_(std::move(m)), pack_fd_(fd) {}

PackedImage::~PackedImage() {
    if (pack_fd_ >= 0) ::close(pack_fd_);
}

Result<std::shared_ptr<PackedImage>> PackedImage::open(const std::filesystem::path& dir,
                                                       const VerifyKey& key) {
    return open_with(dir, load_manifest(dir, key), [](std::filesystem::path d, Manifest m, int fd) {
        return new PackedImage(std::move(d), std::move(m), fd);
    });
}

Result<std::shared_ptr<PackedImage>> PackedImage::open_unverified(const std::filesystem::path& dir) {
    return open_with(dir, load_manifest_unverified(dir),
                     [](std::filesystem::path d, Manifest m, int fd) {
                         return new PackedImage(std::move(d), std::move(m), fd);
                     });
}

Result<std::vector<std::uint8_t>> PackedImage::read_frame(std::size_t i) const {
    std::vector<std::uint8_t> frame;
    if (Status s = read_frame_into(i, frame); !s) return s;
    return frame;
}

Status PackedImage::read_frame_into(std::size_t i, std::vector<std::uint8_t>& frame) const {
    if (i >= manifest_.chunks.size()) return Status::error("chunk index out of range");
    const ChunkEntry& c = manifest_.chunks[i];
    frame.resize(c.pack_size);  // zero-fills only what it grows by
    std::size_t got = 0;
    while (got < frame.size()) {
        ssize_t n = ::pread(pack_fd_, frame.data() + got, frame.size() - got,
                            off_t(c.pack_offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_status("reading pack");
        if (n == 0) return Status::error("pack is truncated at chunk " + std::to_string(i));
        got += std::size_t(n);
    }
    return Status::ok();
}

Status PackedImage::read_chunk(std::size_t i, std::span<std::uint8_t> out) const {
    if (i >= manifest_.chunks.size() || out.size() != manifest_.chunk_length(i))
        return Status::error("read_chunk: bad index or buffer size");
    const ChunkEntry& c = manifest_.chunks[i];
    if (c.is_zero()) {
        std::fill(out.begin(), out.end(), 0);
        if (sha256(out) != c.sha256)
            return Status::error("chunk " + std::to_string(i) + " is listed as zero but its hash is not");
        return Status::ok();
    }
    thread_local std::vector<std::uint8_t> frame;  // one per reading thread, reused
    if (Status s = read_frame_into(i, frame); !s) return s;
    return decode_chunk(frame, out, c.sha256).context("chunk " + std::to_string(i));
}

}  // namespace imaging
