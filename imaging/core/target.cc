#include "imaging/target.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace imaging {

namespace {

// O_DIRECT wants offsets, lengths and memory aligned to the logical block size; 4096 covers the
// disks and filesystems in use (512 and 4096).
constexpr std::uint64_t kDirectAlign = 4096;
// Unaligned memory goes through a per-thread aligned buffer of this size; it also bounds one
// direct pwrite.
constexpr std::size_t kDirectStep = 4 << 20;

std::uint8_t* bounce_buffer() {
    thread_local std::unique_ptr<std::uint8_t, decltype(&std::free)> buffer(
        static_cast<std::uint8_t*>(std::aligned_alloc(kDirectAlign, kDirectStep)), &std::free);
    return buffer.get();
}

}  // namespace

Target::Target(std::filesystem::path p, int fd, bool block, std::uint64_t size)
    : path_(std::move(p)), fd_(fd), block_device_(block), size_(size) {
    // Where O_DIRECT is refused (tmpfs, some FUSE filesystems) every write is buffered.
    direct_fd_ = ::open(path_.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
}

Target::~Target() {
    if (direct_fd_ >= 0) ::close(direct_fd_);
    if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<Target>> Target::open(const std::filesystem::path& path,
                                             std::uint64_t image_size) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return errno_status("cannot open output " + path.string());
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        ::close(fd);
        return errno_status("stat " + path.string());
    }
    if (S_ISBLK(st.st_mode)) {
        std::uint64_t dev_size = 0;
        if (::ioctl(fd, BLKGETSIZE64, &dev_size) != 0) {
            ::close(fd);
            return errno_status("size of " + path.string());
        }
        if (dev_size < image_size) {
            ::close(fd);
            return Status::error("device " + path.string() + " holds " + std::to_string(dev_size) +
                                 " bytes; the image needs " + std::to_string(image_size));
        }
        return std::unique_ptr<Target>(new Target(path, fd, true, image_size));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return Status::error(path.string() + " is neither a regular file nor a block device");
    }
    if (std::uint64_t(st.st_size) != image_size && ::ftruncate(fd, off_t(image_size)) != 0) {
        int err = errno;
        ::close(fd);
        return errno_status("cannot size " + path.string(), err);
    }
    return std::unique_ptr<Target>(new Target(path, fd, false, image_size));
}

Status Target::write_at(std::uint64_t offset, std::span<const std::uint8_t> data) {
    if (direct_fd_ < 0 || direct_refused_.load(std::memory_order_relaxed))
        return write_buffered(offset, data);
    std::uint64_t begin = (offset + kDirectAlign - 1) / kDirectAlign * kDirectAlign;
    std::uint64_t end = (offset + data.size()) / kDirectAlign * kDirectAlign;
    if (end <= begin) return write_buffered(offset, data);
    std::size_t head = std::size_t(begin - offset);
    if (Status s = write_buffered(offset, data.first(head)); !s) return s;
    auto direct = write_direct(begin, data.subspan(head, std::size_t(end - begin)));
    if (!direct) return direct.status();
    std::size_t rest = head + direct.value();
    return write_buffered(offset + rest, data.subspan(rest));
}

Result<std::size_t> Target::write_direct(std::uint64_t offset,
                                         std::span<const std::uint8_t> data) {
    bool aligned = reinterpret_cast<std::uintptr_t>(data.data()) % kDirectAlign == 0;
    std::uint8_t* bounce = aligned ? nullptr : bounce_buffer();
    if (!aligned && bounce == nullptr) return std::size_t{0};
    std::size_t done = 0;
    while (done < data.size()) {
        std::size_t step = std::min(data.size() - done, kDirectStep);
        const std::uint8_t* from = data.data() + done;
        if (!aligned) from = static_cast<const std::uint8_t*>(std::memcpy(bounce, from, step));
        ssize_t n = ::pwrite(direct_fd_, from, step, off_t(offset + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EINVAL) return errno_status("writing " + path_.string());
            direct_refused_.store(true, std::memory_order_relaxed);
            break;
        }
        done += std::size_t(n);
        // Short (the disk is full): the buffered path writes what it can and reports why.
        if (std::size_t(n) < step) break;
    }
    return done;
}

Status Target::write_buffered(std::uint64_t offset, std::span<const std::uint8_t> data) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, off_t(offset + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_status("writing " + path_.string());
        }
        done += std::size_t(n);
    }
    return Status::ok();
}

Status Target::read_at(std::uint64_t offset, std::span<std::uint8_t> out) const {
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, off_t(offset + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_status("reading " + path_.string());
        }
        if (n == 0) return Status::error("unexpected end of " + path_.string());
        done += std::size_t(n);
    }
    return Status::ok();
}

Status Target::zero_range(std::uint64_t offset, std::uint64_t length) {
    if (length == 0) return Status::ok();
    if (!block_device_) {
        if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off_t(offset),
                        off_t(length)) == 0)
            return Status::ok();
    } else {
        std::uint64_t range[2] = {offset, length};
        if (offset % 512 == 0 && length % 512 == 0 && ::ioctl(fd_, BLKZEROOUT, range) == 0)
            return Status::ok();
    }
    // Filesystems without hole punching, devices without zero-out: write the zeros.
    static const std::vector<std::uint8_t> zeros(1 << 20);
    while (length > 0) {
        std::size_t step = std::size_t(std::min<std::uint64_t>(length, zeros.size()));
        if (auto s = write_at(offset, {zeros.data(), step}); !s) return s;
        offset += step;
        length -= step;
    }
    return Status::ok();
}

Status Target::sync() {
    if (::fsync(fd_) != 0) return errno_status("flushing " + path_.string());
    return Status::ok();
}

}  // namespace imaging
