#include "package_catalog.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "base/atomic_file.h"
#include "base/json.h"
#include "base/process.h"
#include "imaging/digest.h"
#include "imaging/signing.h"

namespace provisioner::server {

namespace fs = std::filesystem;

namespace {

constexpr std::chrono::milliseconds kDpkgDebTimeout{30'000};

// Package, Version and Architecture from `dpkg-deb -f DEB FIELD...` ("Field: value" lines).
Result<wire::PackageRecord> control_fields(const fs::path& deb) {
    const std::vector<std::string> argv = {"dpkg-deb", "-f",      deb.string(),
                                           "Package",  "Version", "Architecture"};
    base::RunOptions options;
    options.timeout = kDpkgDebTimeout;
    options.capture_limit = 64 << 10;
    auto ran = base::run_process(argv, options);
    if (!ran)
        return Status::error(Code::error,
                             "reading the package's control fields: " + ran.status().message() +
                                 " (the server needs dpkg-deb: apt-get install dpkg)");
    if (ran->exit_code != 0)
        return base::exit_error(argv, *ran, Code::invalid_argument)
            .context(deb.string() + " is not a Debian package");
    wire::PackageRecord record;
    std::istringstream lines(ran->out);
    for (std::string line; std::getline(lines, line);) {
        auto colon = line.find(": ");
        if (colon == std::string::npos) continue;
        std::string key = line.substr(0, colon), value = line.substr(colon + 2);
        if (key == "Package") record.name = value;
        if (key == "Version") record.version = value;
        if (key == "Architecture") record.architecture = value;
    }
    if (record.name.empty() || record.version.empty() || record.architecture.empty())
        return Status::error(Code::invalid_argument,
                             deb.string() +
                                 ": its control file lacks Package, Version or "
                                 "Architecture");
    if (!is_debian_package_name(record.name))
        return Status::error(Code::invalid_argument,
                             deb.string() + ": its Package \"" + record.name +
                                 "\" is not a Debian package name ([a-z0-9][a-z0-9+.-]+)");
    return record;
}

// Copies source to partial, hashing it, into record's size and sha256.
Status copy_hashing(const fs::path& source, const fs::path& partial, wire::PackageRecord& record) {
    std::ifstream in(source, std::ios::binary);
    if (!in) return Status::error(Code::not_found, "cannot read " + source.string());
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) return Status::error(Code::storage, "creating " + partial.string());
    imaging::Sha256Stream hash;
    std::vector<char> buffer(1 << 20);
    record.size = 0;
    while (in) {
        in.read(buffer.data(), std::streamsize(buffer.size()));
        const auto n = std::size_t(in.gcount());
        if (n == 0) break;
        record.size += n;
        if (record.size > wire::kMaxPackageBytes)
            return Status::error(Code::invalid_argument,
                                 source.string() + " is bigger than " +
                                     std::to_string(wire::kMaxPackageBytes >> 20) + " MiB");
        hash.update({reinterpret_cast<const std::uint8_t*>(buffer.data()), n});
        if (!out.write(buffer.data(), std::streamsize(n)))
            return Status::error(Code::storage, "writing " + partial.string());
    }
    if (in.bad()) return Status::error(Code::storage, "reading " + source.string());
    out.close();
    if (!out) return Status::error(Code::storage, "writing " + partial.string());
    record.sha256 = imaging::to_hex(hash.finish());
    return Status::ok();
}

Result<wire::PackageRecord> read_record(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Status::error(Code::storage, "cannot read " + file.string());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto parsed = base::parse_json(text);
    if (!parsed) return Status::error(Code::storage, file.string() + ": " + parsed.error);
    auto record = wire::decode<wire::PackageRecord>(parsed.value);
    if (!record)
        return Status::error(Code::storage, file.string() + ": " + record.status().message());
    return std::move(*record);
}

}  // namespace

bool is_debian_package_name(const std::string& name) {
    if (name.size() < 2 || name.size() > 128) return false;
    auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!lower_or_digit(name[0])) return false;
    return std::all_of(name.begin(), name.end(), [&](char c) {
        return lower_or_digit(c) || c == '+' || c == '.' || c == '-';
    });
}

Result<wire::PackageRecord> PackageCatalog::add(const fs::path& deb,
                                                const fs::path& key_file) const {
    std::error_code ec;
    if (!fs::is_regular_file(deb, ec))
        return Status::error(Code::not_found, "no file " + deb.string() + " on the server");
    auto record = control_fields(deb);
    if (!record) return record.status();
    if (fs::exists(record_file(record->name), ec))
        return Status::error(Code::conflict, "the server has package " + record->name +
                                                 " already (provisioner service remove " +
                                                 record->name + " first)");
    auto key = imaging::SigningKey::load(key_file);
    if (!key) return Status::error(Code::storage, "the site key: " + key.status().message());
    fs::create_directories(dir_, ec);
    if (ec) return Status::error(Code::storage, "creating " + dir_.string() + ": " + ec.message());
    // Unique, so that two adds of one name at once do not write into one file.
    static std::atomic<std::uint64_t> next{0};
    const std::string tag = ".partial." + std::to_string(::getpid()) + "." + std::to_string(next++);
    const fs::path deb_partial = dir_ / (record->name + ".deb" + tag);
    const fs::path record_partial = dir_ / (record->name + ".json" + tag);
    Status s = copy_hashing(deb, deb_partial, *record);
    if (s) {
        auto signature = key->sign(wire::package_signed_text(*record));
        if (signature)
            record->signature = *signature;
        else
            s = Status::error(Code::storage, "signing: " + signature.status().message());
    }
    if (s) s = base::write_file_atomically(record_partial, wire::encode(*record).dump(2) + "\n");
    // The file first (a record never names a missing file), under the record's no-replace link.
    if (s && ::link(record_partial.c_str(), record_file(record->name).c_str()) != 0)
        s = errno == EEXIST
                ? Status::error(Code::conflict,
                                "the server has package " + record->name + " already")
                : Status::error(Code::storage, "linking " + record_file(record->name).string() +
                                                   ": " + std::strerror(errno));
    if (s) {
        fs::rename(deb_partial, file(record->name), ec);
        if (ec) {
            fs::remove(record_file(record->name), ec);
            s = Status::error(Code::storage, "renaming to " + file(record->name).string());
        }
    }
    fs::remove(deb_partial, ec);
    fs::remove(record_partial, ec);
    if (!s) return s;
    return record;
}

Result<std::vector<wire::PackageRecord>> PackageCatalog::list() const {
    std::vector<wire::PackageRecord> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
        const fs::path& p = entry.path();
        if (p.extension() != ".json") continue;
        auto record = read_record(p);
        if (!record) return record.status();
        out.push_back(std::move(*record));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
}

Result<wire::PackageRecord> PackageCatalog::find(const std::string& name) const {
    std::error_code ec;
    if (!is_debian_package_name(name) || !fs::exists(record_file(name), ec))
        return Status::error(Code::not_found, "no service package " + name +
                                                  " on the server (provisioner service add)");
    return read_record(record_file(name));
}

Result<wire::PackageRecord> PackageCatalog::remove(const std::string& name) const {
    auto record = find(name);
    if (!record) return record.status();
    std::error_code ec;
    fs::remove(record_file(name), ec);
    if (ec) return Status::error(Code::storage, "removing " + record_file(name).string());
    fs::remove(file(name), ec);
    return record;
}

}  // namespace provisioner::server
