// Old data a receiver can reuse: the output itself (a host being re-imaged, or a receive being
// resumed) or a separate --basis file or device. Reads only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "imaging/status.h"

namespace imaging::delta {

class Basis {
public:
    // Opens read-only; a missing file is an error (the caller decides whether that matters).
    static Result<std::unique_ptr<Basis>> open(const std::filesystem::path& path);
    // Wraps an fd the caller keeps open (the output target) for reading.
    Basis(std::string name, int fd, std::uint64_t size, bool owns_fd);
    ~Basis();

    const std::string& name() const { return name_; }
    std::uint64_t size() const { return size_; }
    Status read_at(std::uint64_t offset, std::span<std::uint8_t> out) const;
    // Byte ranges that may hold data (holes of a sparse file left out; a device is one range).
    std::vector<std::pair<std::uint64_t, std::uint64_t>> data_extents() const;
    // True when [offset, offset+length) is known to be a hole (reads as zeros without I/O).
    bool is_hole(std::uint64_t offset, std::uint64_t length) const;
    // Same file or device as the given path?
    bool same_file_as(const std::filesystem::path& path) const;

private:
    std::string name_;
    int fd_;
    std::uint64_t size_;
    bool owns_fd_;
};

}  // namespace imaging::delta
