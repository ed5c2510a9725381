#include "pxe/hosts_directory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "base/atomic_file.h"

namespace pxe {

namespace fs = std::filesystem;
using base::errno_status;

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
    return base::write_file_atomically(entry_path(host.mac), *line, fs::perms(0644));
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
