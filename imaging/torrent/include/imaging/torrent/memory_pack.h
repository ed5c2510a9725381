// The receiver's copy of the compressed pack, in memory: libtorrent's disk I/O writes blocks
// into it and hashes and serves pieces from it (memory_disk_io.h), and the chunk writer
// decompresses each chunk's frame straight out of it once every piece under the chunk has
// passed its hash. No staging file: each received byte is copied once (from the socket into
// this buffer) and read once for SHA-1, once for zstd.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

namespace imaging::torrent {

class MemoryPack {
public:
    // size bytes, uninitialised: pages are taken from the system as blocks arrive.
    explicit MemoryPack(std::uint64_t size);

    std::uint64_t size() const { return size_; }
    char* data() { return bytes_.get(); }
    const char* data() const { return bytes_.get(); }
    // [offset, offset + length) if it lies inside the pack.
    std::optional<std::span<char>> range(std::uint64_t offset, std::uint64_t length);

private:
    std::uint64_t size_;
    std::unique_ptr<char[]> bytes_;
};

// Whether a pack of size bytes may be held in memory: at most half of what the kernel says
// is available (MemAvailable), so a host short of memory falls back to a staging file.
bool pack_fits_in_memory(std::uint64_t size);

}  // namespace imaging::torrent
