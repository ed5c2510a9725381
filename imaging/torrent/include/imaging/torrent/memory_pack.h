// The compressed pack, in memory, for libtorrent's disk I/O (memory_disk_io.h):
// - a receiver's copy: libtorrent writes blocks into it and serves pieces from it, and the
//   chunk writer decompresses each chunk's frame straight out of it once every piece under the
//   chunk is in (a piece passes on its chunks' SHA-256: piece_verifier.h). No staging file:
//   each received byte is copied once (from the socket into this buffer) and read once, by
//   zstd (and again for SHA-1 only where a piece cannot wait for its chunks);
// - a seed's pack file, mapped read-only: pieces are hash-checked and served from the page
//   cache without a read into a buffer of their own.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>

#include "imaging/status.h"

namespace imaging::torrent {

class MemoryPack {
  public:
    // A writable pack of size bytes, zero until written, its pages taken from the system at
    // once (memory_pack.cc says why). Throws std::bad_alloc when the mapping fails.
    explicit MemoryPack(std::uint64_t size);
    // The pack file at path, mapped read-only and read in at once (MAP_POPULATE), so serving
    // takes no page fault. The file must keep its size while mapped (a stored image's pack
    // never changes): pages cut off by a truncation would fault with SIGBUS.
    static Result<std::shared_ptr<MemoryPack>> map_file(const std::filesystem::path& path);
    ~MemoryPack();
    MemoryPack(const MemoryPack&) = delete;
    MemoryPack& operator=(const MemoryPack&) = delete;

    std::uint64_t size() const { return size_; }
    // False for a mapped file: nothing may be written through data() or range().
    bool writable() const { return writable_; }
    char* data() { return bytes_; }
    const char* data() const { return bytes_; }
    // [offset, offset + length) if it lies inside the pack.
    std::optional<std::span<char>> range(std::uint64_t offset, std::uint64_t length);

  private:
    MemoryPack(std::uint64_t size, void* mapping);
    std::uint64_t size_;
    std::uint64_t mapped_;  // the mapping's length
    void* mapping_;         // anonymous (a writable pack) or the file's (read-only)
    bool writable_;
    char* bytes_;
};

// Whether a pack of size bytes may be held in memory: at most half of what the kernel says
// is available (MemAvailable), so a host short of memory falls back to a staging file.
bool pack_fits_in_memory(std::uint64_t size);

}  // namespace imaging::torrent
