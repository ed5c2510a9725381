#include "pxe/boot_files.h"

#include <fstream>
#include <sstream>
#include <system_error>

#include "base/atomic_file.h"
#include "pxe/hosts_directory.h"

namespace pxe {

namespace fs = std::filesystem;
using base::Status;

Status install_boot_files(const fs::path& tftp_root, const fs::path& source_dir) {
    const char* files[] = {kBiosBootFile, kEfiIpxeFile, kEfiSnpFile};
    for (const char* name : files) {
        if (!fs::is_regular_file(source_dir / name))
            return Status::error("boot file " + (source_dir / name).string() +
                                 " is missing: install Debian's ipxe package "
                                 "(apt-get install ipxe)");
    }
    std::error_code ec;
    fs::create_directories(tftp_root, ec);
    if (!ec) fs::permissions(tftp_root, fs::perms(0755), ec);
    if (ec) return Status::error("create TFTP root " + tftp_root.string() + ": " + ec.message());
    for (const char* name : files) {
        std::ifstream in(source_dir / name, std::ios::binary);
        std::ostringstream bytes;
        if (in.is_open()) bytes << in.rdbuf();
        if (!in.is_open() || in.bad()) return Status::error("read " + (source_dir / name).string());
        Status s = base::write_file_atomically(tftp_root / name, bytes.str(), fs::perms(0644));
        if (!s) return s.context("install boot file");
    }
    return Status::ok();
}

}  // namespace pxe
