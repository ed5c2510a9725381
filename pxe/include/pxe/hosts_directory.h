// The dhcp-hostsdir dnsmasq watches: one file per enrolled host, written so that dnsmasq's
// inotify sees only whole files.
#pragma once

#include <filesystem>

#include "base/status.h"
#include "pxe/dnsmasq_config.h"

namespace pxe {

// Not thread-safe: one owner (provisionerd's inventory side) writes a given directory.
class HostsDirectory {
  public:
    // The directory is created (mode 0755: dnsmasq reads it after dropping root) by ensure().
    explicit HostsDirectory(std::filesystem::path dir) : dir_(std::move(dir)) {}

    base::Status ensure() const;

    // Writes the host's entry as a temporary dotfile (dnsmasq ignores dotfiles), then renames it
    // to <name> (base::write_file_atomically): dnsmasq reads it on IN_MOVED_TO, without a
    // restart. Replaces an older entry.
    base::Status put(const HostEntry& host) const;

    // Deletes the host's entry; absent is fine. dnsmasq keeps records it has read until it is
    // sent SIGHUP (man dnsmasq, --dhcp-hostsdir), so the caller must reload it (see
    // Supervisor::signal) after a removal or after put() changed an existing entry;
    // *needs_reload says whether this call made that necessary.
    base::Status remove(const base::Mac& mac, bool* needs_reload = nullptr) const;

    std::filesystem::path entry_path(const base::Mac& mac) const;
    const std::filesystem::path& dir() const { return dir_; }

  private:
    std::filesystem::path dir_;
};

}  // namespace pxe
