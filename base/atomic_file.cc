#include "base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

namespace base {
namespace fs = std::filesystem;
namespace {

struct FdCloser {
    int fd;
    ~FdCloser() {
        if (fd >= 0) ::close(fd);
    }
};

fs::path temporary_beside(const fs::path& path) {
    static std::atomic<unsigned long> counter{0};
    return path.parent_path() / ("." + path.filename().string() + ".tmp-" +
                                 std::to_string(::getpid()) + "-" + std::to_string(++counter));
}

}  // namespace

Status sync_path(const fs::path& path) {
    FdCloser f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    const int err = f.fd < 0 || ::fsync(f.fd) != 0 ? errno : 0;
    if (err == 0) return Status::ok();
    return Status::error(Code::storage, "fsync " + path.string() + ": " + std::strerror(err));
}

Status write_file_atomically(const fs::path& path, std::string_view contents, fs::perms perms,
                             Durability durability) {
    // One message per path and step, whatever the temporary's name: callers log a repeated
    // failure once.
    auto failed = [&](const char* step, int err) {
        return Status::error(Code::storage,
                             "writing " + path.string() + ": " + step +
                                 (err ? std::string(": ") + std::strerror(err) : ""));
    };
    if (path.filename().empty()) return failed("no file name", 0);
    const fs::path tmp = temporary_beside(path);
    const auto mode = static_cast<mode_t>(perms & fs::perms::mask);
    const bool durable = durability == Durability::durable;
    FdCloser f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)};
    if (f.fd < 0) return failed("creating its temporary file", errno);
    auto fail = [&](const char* step) {
        Status s = failed(step, errno);
        ::close(f.fd);
        f.fd = -1;
        ::unlink(tmp.c_str());
        return s;
    };
    if (::fchmod(f.fd, mode) != 0) return fail("chmod");
    std::size_t done = 0;
    while (done < contents.size()) {
        const ssize_t n = ::write(f.fd, contents.data() + done, contents.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail("write");
        done += std::size_t(n);
    }
    if (durable && ::fsync(f.fd) != 0) return fail("fsync");
    // close reports a delayed write error (NFS, a full disk on some file systems).
    const int fd = f.fd;
    f.fd = -1;
    if (::close(fd) != 0) {
        Status s = failed("close", errno);
        ::unlink(tmp.c_str());
        return s;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        Status s = failed("rename", errno);
        ::unlink(tmp.c_str());
        return s;
    }
    if (!durable) return Status::ok();
    return sync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

Status write_private_file(const fs::path& path, std::string_view contents) {
    return write_file_atomically(path, contents, fs::perms(0600));
}

}  // namespace base
