#include "template_file.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <system_error>
#include <vector>

#include "imaging/digest.h"

namespace provisioner::server {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kBuffer = 1 << 20;
constexpr std::uint32_t kQcow2Magic = 0x514649fb;  // "QFI\xfb"
constexpr std::uint32_t kMaxBackingName = 1023;    // QEMU's limit

std::uint64_t big_endian(const std::vector<std::uint8_t>& b, std::size_t at, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | b[at + i];
    return v;
}

// The format and backing file from the first bytes of an image (head) and, when the backing
// name lies beyond them, the file itself.
Status read_header(const std::vector<std::uint8_t>& head, const fs::path& file, TemplateFile& out) {
    out.format = "raw";
    if (head.size() < 20 || big_endian(head, 0, 4) != kQcow2Magic) return Status::ok();
    out.format = "qcow2";
    const std::uint64_t offset = big_endian(head, 8, 8);
    const std::uint64_t length = big_endian(head, 16, 4);
    if (offset == 0) return Status::ok();
    if (length == 0 || length > kMaxBackingName || offset + length > out.size)
        return Status::error(Code::invalid_argument,
                             file.string() + ": its qcow2 header's backing file is unreadable");
    std::ifstream in(file, std::ios::binary);
    std::string name(length, '\0');
    in.seekg(std::streamoff(offset));
    if (!in.read(name.data(), std::streamsize(length)))
        return Status::error(Code::storage, "reading " + file.string());
    out.backing_file = std::move(name);
    return Status::ok();
}

// Copies in to partial, hashing; the first bytes go to head.
Status copy_hashing(std::ifstream& in, const fs::path& partial, std::vector<std::uint8_t>& head,
                    TemplateFile& out, const CopyProgress& progress, std::uint64_t total) {
    std::ofstream dst(partial, std::ios::binary | std::ios::trunc);
    if (!dst) return Status::error(Code::storage, "creating " + partial.string());
    imaging::Sha256Stream hash;
    std::vector<char> buffer(kBuffer);
    while (in) {
        in.read(buffer.data(), std::streamsize(buffer.size()));
        const auto n = std::size_t(in.gcount());
        if (n == 0) break;
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(buffer.data());
        if (head.empty()) head.assign(bytes, bytes + std::min<std::size_t>(n, 4096));
        hash.update({bytes, n});
        if (!dst.write(buffer.data(), std::streamsize(n)))
            return Status::error(Code::storage, "writing " + partial.string());
        out.size += n;
        if (progress) progress(out.size, std::max(total, out.size));
    }
    if (in.bad()) return Status::error(Code::storage, "reading the source file");
    dst.flush();
    if (!dst) return Status::error(Code::storage, "writing " + partial.string());
    out.sha256 = imaging::to_hex(hash.finish());
    return Status::ok();
}

}  // namespace

Result<TemplateFile> copy_template_file(const fs::path& source, const fs::path& dir,
                                        const std::string& stem, const CopyProgress& progress) {
    std::error_code ec;
    if (!fs::is_regular_file(source, ec))
        return Status::error(Code::not_found, "no file " + source.string() + " on the server");
    std::ifstream in(source, std::ios::binary);
    if (!in) return Status::error(Code::not_found, "cannot read " + source.string());
    fs::create_directories(dir, ec);
    // Unique, so that two adds of one name@version at once do not write into one file.
    static std::atomic<std::uint64_t> next_partial{0};
    const fs::path partial = dir / (stem + ".partial." + std::to_string(next_partial++));
    TemplateFile out;
    std::vector<std::uint8_t> head;
    const std::uint64_t total = fs::file_size(source, ec);
    if (progress) progress(0, ec ? 0 : total);
    Status s = copy_hashing(in, partial, head, out, progress, ec ? 0 : total);
    if (s) s = read_header(head, partial, out);
    if (s) {
        out.path = dir / (stem + "." + out.format);
        if (fs::exists(out.path, ec))
            s = Status::error(Code::conflict, out.path.string() + " exists already");
    }
    if (s) {
        fs::rename(partial, out.path, ec);
        if (ec)
            s = Status::error(Code::storage,
                              "renaming to " + out.path.string() + ": " + ec.message());
    }
    if (!s) {
        fs::remove(partial, ec);
        return s.context("copying " + source.string());
    }
    return out;
}

}  // namespace provisioner::server
