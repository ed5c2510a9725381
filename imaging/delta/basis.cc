#include "basis.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace imaging::delta {

Result<std::unique_ptr<Basis>> Basis::open(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_status("cannot open basis " + path.string());
    struct stat st {};
    std::uint64_t size = 0;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        size = std::uint64_t(st.st_size);
    } else if (S_ISBLK(st.st_mode) && ::ioctl(fd, BLKGETSIZE64, &size) == 0) {
    } else {
        ::close(fd);
        return Status::error("basis " + path.string() + " is neither a regular file nor a block device");
    }
    return std::make_unique<Basis>(path.string(), fd, size, true);
}

Basis::Basis(std::string name, int fd, std::uint64_t size, bool owns_fd)
    : name_(std::move(name)), fd_(fd), size_(size), owns_fd_(owns_fd) {}

Basis::~Basis() {
    if (owns_fd_) ::close(fd_);
}

Status Basis::read_at(std::uint64_t offset, std::span<std::uint8_t> out) const {
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, off_t(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_status("reading " + name_);
        if (n == 0) return Status::error("unexpected end of " + name_);
        done += std::size_t(n);
    }
    return Status::ok();
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> Basis::data_extents() const {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> extents;
    off_t pos = 0;
    const off_t end = off_t(size_);
    while (pos < end) {
        off_t data = ::lseek(fd_, pos, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO) break;  // only a hole is left
            extents.clear();            // no SEEK_DATA here (a device): all of it
            extents.emplace_back(0, size_);
            return extents;
        }
        off_t hole = ::lseek(fd_, data, SEEK_HOLE);
        if (hole < 0 || hole > end) hole = end;
        extents.emplace_back(std::uint64_t(data), std::uint64_t(hole));
        pos = hole;
    }
    return extents;
}

bool Basis::is_hole(std::uint64_t offset, std::uint64_t length) const {
    off_t data = ::lseek(fd_, off_t(offset), SEEK_DATA);
    if (data < 0) return errno == ENXIO;  // ENXIO: only holes from here to the end
    return std::uint64_t(data) >= offset + length;
}

bool Basis::same_file_as(const std::filesystem::path& path) const {
    struct stat a {}, b {};
    if (::fstat(fd_, &a) != 0 || ::stat(path.c_str(), &b) != 0) return false;
    if (S_ISBLK(a.st_mode)) return S_ISBLK(b.st_mode) && a.st_rdev == b.st_rdev;
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace imaging::delta
