// The service packages provisionerd keeps for the guests (SO-MVDS's service deployment: users
// submit service packages; `provisioner service add PKG.deb`), so that a VM on an isolated
// provisioning network installs its service from the server instead of a mirror it cannot
// reach. Each package is STATE/packages/NAME.deb with NAME.json beside it: its
// wire::PackageRecord, signed with the site key as images are, which the guest agent checks
// against the key pinned in its template before it runs dpkg.
//
// One version per package name: adding a name the catalog holds is a conflict (remove it
// first). Kept on disk only, the way template and image files are: the record appears (by a
// link that never replaces) only once its file is whole. Thread-safe: every call works on the
// directory alone; two adds of one name at once leave one of them, the other a conflict.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "provisioner/status.h"
#include "provisioner/wire/guest.h"

namespace provisioner::server {

class PackageCatalog {
  public:
    explicit PackageCatalog(std::filesystem::path dir) : dir_(std::move(dir)) {}

    // Reads deb's control fields with dpkg-deb (Package, Version, Architecture), copies it in
    // hashing it, and signs its record with the key in key_file. invalid_argument for a file
    // that is not a Debian package, too big (wire::kMaxPackageBytes) or whose Package is not a
    // safe name; conflict when the catalog holds that name; not_found without a readable
    // file; error when dpkg-deb cannot run; storage for I/O. Nothing is left on failure.
    Result<wire::PackageRecord> add(const std::filesystem::path& deb,
                                    const std::filesystem::path& key_file) const;
    // By name. storage when a record does not read.
    Result<std::vector<wire::PackageRecord>> list() const;
    // not_found naming `service add` when the catalog has no such package.
    Result<wire::PackageRecord> find(const std::string& name) const;
    std::filesystem::path file(const std::string& name) const { return dir_ / (name + ".deb"); }
    // The record, then the file, go; returns what was removed (not_found as find()).
    Result<wire::PackageRecord> remove(const std::string& name) const;

  private:
    std::filesystem::path record_file(const std::string& name) const {
        return dir_ / (name + ".json");
    }
    std::filesystem::path dir_;
};

// Debian's rule for a package name ([a-z0-9][a-z0-9+.-]+), which also keeps it a safe file
// name and URL segment.
bool is_debian_package_name(const std::string& name);

}  // namespace provisioner::server
