#include "imaging/torrent/memory_pack.h"

#include <cstdint>
#include <fstream>
#include <string>

namespace imaging::torrent {

MemoryPack::MemoryPack(std::uint64_t size)
    : size_(size), bytes_(std::make_unique_for_overwrite<char[]>(size ? size : 1)) {}

std::optional<std::span<char>> MemoryPack::range(std::uint64_t offset, std::uint64_t length) {
    if (offset > size_ || length > size_ - offset) return std::nullopt;
    return std::span<char>(bytes_.get() + offset, length);
}

bool pack_fits_in_memory(std::uint64_t size) {
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    std::uint64_t kib = 0;
    std::string unit;
    while (meminfo >> key >> kib >> unit) {
        if (key == "MemAvailable:") return size <= kib * 1024 / 2;
    }
    return false;  // unknown: the staging file is the safe choice
}

}  // namespace imaging::torrent
