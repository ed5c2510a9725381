#include "imaging/torrent/chunk_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "imaging/chunk.h"

namespace imaging::torrent {

ChunkWriter::ChunkWriter(const Manifest& manifest, std::filesystem::path staging_pack,
                         Target& target)
    : manifest_(manifest), staging_pack_(std::move(staging_pack)), target_(target) {}

ChunkWriter::ChunkWriter(const Manifest& manifest, const MemoryPack& pack, Target& target)
    : manifest_(manifest), memory_(&pack), target_(target) {}

ChunkWriter::~ChunkWriter() {
    if (fd_ >= 0) ::close(fd_);
}

Status ChunkWriter::open_staging() {
    if (fd_ >= 0) return Status::ok();
    fd_ = ::open(staging_pack_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return errno_status("open " + staging_pack_.string());
    return Status::ok();
}

Status ChunkWriter::write_zero_chunks() {
    const auto& chunks = manifest_.chunks;
    for (std::size_t i = 0; i < chunks.size();) {
        if (!chunks[i].is_zero()) {
            ++i;
            continue;
        }
        std::size_t end = i;
        std::uint64_t length = 0;
        while (end < chunks.size() && chunks[end].is_zero()) length += manifest_.chunk_length(end++);
        if (Status s = target_.zero_range(manifest_.chunk_offset(i), length); !s) return s;
        i = end;
    }
    return Status::ok();
}

Result<std::span<const std::uint8_t>> ChunkWriter::frame_of(const ChunkEntry& c) {
    if (memory_) {
        if (c.pack_offset > memory_->size() || c.pack_size > memory_->size() - c.pack_offset)
            return Status::error("chunk frame outside the pack");
        return std::span<const std::uint8_t>(
            reinterpret_cast<const std::uint8_t*>(memory_->data()) + c.pack_offset, c.pack_size);
    }
    if (Status s = open_staging(); !s) return s;
    frame_.resize(c.pack_size);
    std::size_t done = 0;
    while (done < frame_.size()) {
        ssize_t n = ::pread(fd_, frame_.data() + done, frame_.size() - done,
                            static_cast<off_t>(c.pack_offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_status("read " + staging_pack_.string());
        if (n == 0) return Status::error(staging_pack_.string() + ": short read");
        done += static_cast<std::size_t>(n);
    }
    return std::span<const std::uint8_t>(frame_);
}

Status ChunkWriter::write_chunk(std::size_t i) {
    auto written = try_write_chunk(i);
    if (!written) return written.status();
    if (!*written) {
        return Status::error("the torrent does not match its signed manifest: chunk " +
                             std::to_string(i) +
                             " passed the torrent's piece hashes but does not decode to the "
                             "manifest's chunk");
    }
    return Status::ok();
}

Result<bool> ChunkWriter::try_write_chunk(std::size_t i) {
    const ChunkEntry& c = manifest_.chunks.at(i);
    auto frame = frame_of(c);
    if (!frame) return frame.status();
    thread_local std::vector<std::uint8_t> raw;  // one per worker: chunks decode side by side
    raw.resize(manifest_.chunk_length(i));
    if (Status s = decode_chunk(*frame, raw, c.sha256); !s) return false;
    if (Status s = target_.write_at(manifest_.chunk_offset(i), raw); !s) return s;
    bytes_written_ += raw.size();
    ++chunks_written_;
    return true;
}

}  // namespace imaging::torrent
