#include "imaging/target.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

namespace imaging {

Target::Target(std::filesystem::path p, int fd, bool block, std::uint64_t size)
    : path_(std::move(p)), fd_(fd), block_device_(block), size_(size) {}

Target::~Target() {
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
