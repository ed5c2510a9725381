#include "imaging/torrent/memory_pack.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

namespace imaging::torrent {

MemoryPack::MemoryPack(std::uint64_t size)
    : size_(size),
      owned_(std::make_unique_for_overwrite<char[]>(size ? size : 1)),
      bytes_(owned_.get()) {}

MemoryPack::MemoryPack(std::uint64_t size, void* mapping)
    : size_(size), mapping_(mapping), bytes_(static_cast<char*>(mapping)) {}

MemoryPack::~MemoryPack() {
    if (mapping_) ::munmap(mapping_, size_);
}

Result<std::shared_ptr<MemoryPack>> MemoryPack::map_file(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_status("open " + path.string());
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        auto s = errno_status("stat " + path.string());
        ::close(fd);
        return s;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
        ::close(fd);
        return Status::error(path.string() + ": not a non-empty regular file");
    }
    auto size = static_cast<std::uint64_t>(st.st_size);
    void* m = ::mmap(nullptr, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
    auto mapped = m == MAP_FAILED ? errno_status("map " + path.string()) : Status::ok();
    ::close(fd);  // the mapping keeps the file
    if (!mapped) return mapped;
    return std::shared_ptr<MemoryPack>(new MemoryPack(size, m));
}

std::optional<std::span<char>> MemoryPack::range(std::uint64_t offset, std::uint64_t length) {
    if (offset > size_ || length > size_ - offset) return std::nullopt;
    return std::span<char>(bytes_ + offset, length);
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
