#include "provisioner/vmhost/file_ops.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace provisioner::vmhost {

namespace {

struct FdCloser {
    int fd;
    ~FdCloser() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

Status errno_status(const std::string& what) {
    return Status::error(Code::storage, what + ": " + std::strerror(errno));
}

std::filesystem::path partial_path(const std::filesystem::path& path) {
    return path.string() + ".partial-" + std::to_string(::getpid());
}

Status copy_sparse(const std::filesystem::path& src, const std::filesystem::path& dst) {
    FdCloser in{::open(src.c_str(), O_RDONLY | O_CLOEXEC)};
    if (in.fd < 0) return errno_status("opening " + src.string());
    struct stat st;
    if (::fstat(in.fd, &st) != 0) return errno_status("stat " + src.string());
    FdCloser out{::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
    if (out.fd < 0) return errno_status("creating " + dst.string());
    auto fail = [&](const std::string& what) {
        Status s = errno_status(what);
        ::unlink(dst.c_str());
        return s;
    };
    if (::ftruncate(out.fd, st.st_size) != 0) return fail("sizing " + dst.string());
    off_t pos = 0;
    while (pos < st.st_size) {
        off_t data = ::lseek(in.fd, pos, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO) break;  // only a hole remains
            return fail("seeking data in " + src.string());
        }
        off_t hole = ::lseek(in.fd, data, SEEK_HOLE);
        if (hole < 0) return fail("seeking a hole in " + src.string());
        off_t in_off = data, out_off = data;
        while (in_off < hole) {
            ssize_t n =
                ::copy_file_range(in.fd, &in_off, out.fd, &out_off, std::size_t(hole - in_off), 0);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return fail("copying " + src.string() + " to " + dst.string());
            if (n == 0) break;  // src shrank under us
        }
        pos = hole;
    }
    if (::fsync(out.fd) != 0) return fail("fsync " + dst.string());
    return Status::ok();
}

Status rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0)
        return Status::ok();
    if (errno == EEXIST) return Status::error(Code::conflict, to.string() + " already exists");
    return errno_status("renaming " + from.string() + " to " + to.string());
}

}  // namespace provisioner::vmhost
