#include "provisioner/agent/smbios.h"

#include <algorithm>
#include <fstream>

#include "provisioner/agent/cmdline.h"

namespace provisioner::agent {
namespace fs = std::filesystem;
using imaging::Result;
using imaging::Status;

namespace {

constexpr unsigned kOemStringsType = 11;
constexpr std::size_t kOemStringsMinLength = 5;  // header and the count
// A structure is at most 255 bytes of formatted area plus its strings; no real entry nears this.
constexpr std::size_t kMaxEntryBytes = 64 << 10;

}  // namespace

Result<std::vector<std::string>> parse_smbios_oem_strings(std::string_view raw) {
    if (raw.size() < kOemStringsMinLength)
        return Status::error("SMBIOS entry of " + std::to_string(raw.size()) +
                             " bytes: shorter than a type 11 header");
    unsigned type = static_cast<unsigned char>(raw[0]);
    std::size_t length = static_cast<unsigned char>(raw[1]);
    if (type != kOemStringsType)
        return Status::error("SMBIOS entry of type " + std::to_string(type) + ", not 11");
    if (length < kOemStringsMinLength || length > raw.size())
        return Status::error("SMBIOS type 11 entry: formatted length " + std::to_string(length) +
                             " does not fit its " + std::to_string(raw.size()) + " bytes");
    unsigned count = static_cast<unsigned char>(raw[4]);
    std::vector<std::string> strings;
    std::size_t at = length;
    for (unsigned i = 0; i < count; ++i) {
        std::size_t end = raw.find('\0', at);
        if (end == std::string_view::npos || end == at)
            return Status::error("SMBIOS type 11 entry: string " + std::to_string(i + 1) + " of " +
                                 std::to_string(count) + " is missing or not terminated");
        strings.emplace_back(raw.substr(at, end - at));
        at = end + 1;
    }
    // The set ends with an extra NUL (two NULs when there are no strings).
    bool terminated = count == 0 ? raw.substr(at, 2) == std::string_view("\0\0", 2)
                                 : raw.substr(at, 1) == std::string_view("\0", 1);
    if (!terminated) return Status::error("SMBIOS type 11 entry: string set not terminated");
    return strings;
}

std::map<std::string, std::string> read_smbios_oem_settings(const fs::path& entries) {
    std::error_code ec;
    std::vector<fs::path> raws;
    for (fs::directory_iterator it(entries, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->path().filename().string().starts_with("11-")) raws.push_back(it->path() / "raw");
    }
    std::sort(raws.begin(), raws.end());
    std::map<std::string, std::string> settings;
    for (const fs::path& raw : raws) {
        std::ifstream in(raw, std::ios::binary);
        if (!in) continue;
        std::string bytes(kMaxEntryBytes + 1, '\0');
        in.read(bytes.data(), std::streamsize(bytes.size()));
        if (in.bad()) continue;
        bytes.resize(std::size_t(in.gcount()));
        if (bytes.size() > kMaxEntryBytes) continue;
        auto strings = parse_smbios_oem_strings(bytes);
        if (!strings) continue;
        for (const std::string& s : *strings) {
            for (auto& [key, value] : parse_kernel_cmdline(s)) settings[key] = value;
        }
    }
    return settings;
}

}  // namespace provisioner::agent
