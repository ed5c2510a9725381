// Where a receiver writes: a regular file (zero chunks become holes) or a block device.
// Also reads back what is there, so an existing target serves as a basis and a resumed
// receive finds the chunks it already verified.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "imaging/status.h"

namespace imaging {

class Target {
public:
    // Opens (creating a regular file if absent) for an image of image_size bytes. A regular
    // file is sized to image_size; a block device smaller than image_size is refused.
    static Result<std::unique_ptr<Target>> open(const std::filesystem::path& path,
                                                std::uint64_t image_size);
    ~Target();

    bool is_block_device() const { return block_device_; }
    std::uint64_t size() const { return size_; }
    const std::filesystem::path& path() const { return path_; }

    Status write_at(std::uint64_t offset, std::span<const std::uint8_t> data);
    Status read_at(std::uint64_t offset, std::span<std::uint8_t> out) const;
    // Makes [offset, offset+length) read as zeros: a hole in a file, zero-out on a device.
    Status zero_range(std::uint64_t offset, std::uint64_t length);
    Status sync();
    int fd() const { return fd_; }

private:
    Target(std::filesystem::path p, int fd, bool block, std::uint64_t size);
    std::filesystem::path path_;
    int fd_;
    bool block_device_;
    std::uint64_t size_;
};

}  // namespace imaging
