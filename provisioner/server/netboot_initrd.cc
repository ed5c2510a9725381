#include "netboot_initrd.h"

#include <cstdio>
#include <fstream>
#include <set>

#include "base/atomic_file.h"

namespace provisioner::server {
namespace {

void pad4(std::string& out) {
    while (out.size() % 4) out.push_back('\0');
}

void entry(std::string& out, unsigned ino, unsigned mode, const std::string& name,
           const std::string& data) {
    char header[111];
    std::snprintf(header, sizeof header,
                  "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, mode,
                  0u /*uid*/, 0u /*gid*/, 1u /*nlink*/, 0u /*mtime*/, unsigned(data.size()),
                  0u, 0u, 0u, 0u /*dev major, minor, rdev major, minor*/,
                  unsigned(name.size() + 1), 0u /*check*/);
    out.append(header, 110);
    out.append(name);
    out.push_back('\0');
    pad4(out);
    out.append(data);
    pad4(out);
}

}  // namespace

std::string newc_archive(const std::vector<InitrdFile>& files) {
    std::string out;
    std::set<std::string> dirs;
    unsigned ino = 1;
    for (const auto& f : files) {
        for (auto slash = f.path.find('/'); slash != std::string::npos;
             slash = f.path.find('/', slash + 1)) {
            std::string dir = f.path.substr(0, slash);
            if (dirs.insert(dir).second) entry(out, ino++, 040755, dir, "");
        }
        entry(out, ino++, 0100000 | f.mode, f.path, f.bytes);
    }
    entry(out, 0, 0, "TRAILER!!!", "");
    return out;
}

Status compose_initrd(const std::filesystem::path& original, const std::vector<InitrdFile>& files,
                      const std::filesystem::path& out) {
    std::ifstream in(original, std::ios::binary);
    if (!in) return Status::error(Code::storage, "cannot read " + original.string());
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return Status::error(Code::storage, "reading " + original.string() + " failed");
    pad4(bytes);
    bytes += newc_archive(files);
    return base::write_private_file(out, bytes);
}

}  // namespace provisioner::server
