#include "pxe/hosts_directory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace pxe {

namespace fs = std::filesystem;
using base::errno_status;

Status write_file_atomically(const fs::path& path, const std::string& contents, fs::perms perms) {
    const fs::path tmp = path.parent_path() / ("." + path.filename().string() + ".tmp");
    const int fd =
        ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(perms));
    if (fd < 0) return errno_status("create " + tmp.string());
    std::size_t done = 0;
    while (done < contents.size()) {
        const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            Status s = errno_status("write " + tmp.string());
            ::close(fd);
            ::unlink(tmp.c_str());
            return s;
        }
        done += static_cast<std::size_t>(n);
    }
    // fchmod: open's mode is filtered by the umask, and dnsmasq must be able to read the file.
    if (::fchmod(fd, static_cast<mode_t>(perms)) != 0 || ::fsync(fd) != 0) {
        Status s = errno_status("finish " + tmp.string());
        ::close(fd);
        ::unlink(tmp.c_str());
        return s;
    }
    if (::close(fd) != 0) return errno_status("close " + tmp.string());
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        Status s = errno_status("rename " + tmp.string() + " to " + path.string());
        ::unlink(tmp.c_str());
        return s;
    }
    return Status::ok();
}

Status HostsDirectory::ensure() const {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) return Status::error("create hosts dir " + dir_.string() + ": " + ec.message());
    fs::permissions(dir_, fs::perms(0755), ec);
    if (ec) return Status::error("chmod hosts dir " + dir_.string() + ": " + ec.message());
    return Status::ok();
}

fs::path HostsDirectory::entry_path(const base::Mac& mac) const {
    return dir_ / host_entry_file_name(mac);
}

Status HostsDirectory::put(const HostEntry& host) const {
    auto line = render_host_entry(host);
    if (!line) return line.status().context("host " + host.mac.str());
    return write_file_atomically(entry_path(host.mac), *line, fs::perms(0644));
}

Status HostsDirectory::remove(const base::Mac& mac, bool* needs_reload) const {
    if (needs_reload) *needs_reload = false;
    const fs::path path = entry_path(mac);
    if (::unlink(path.c_str()) != 0) {
        if (errno == ENOENT) return Status::ok();
        return errno_status("remove " + path.string());
    }
    if (needs_reload) *needs_reload = true;
    return Status::ok();
}

}  // namespace pxe
