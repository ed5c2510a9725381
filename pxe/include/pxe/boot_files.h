// The TFTP root: the iPXE binaries PXE firmware loads first, copied from Debian's ipxe package.
#pragma once

#include <filesystem>
#include <string>

#include "base/status.h"

namespace pxe {

// File names inside the TFTP root; dnsmasq.conf names them as they are here.
inline constexpr const char* kBiosBootFile = "undionly.kpxe";  // BIOS: iPXE over the NIC's UNDI
inline constexpr const char* kEfiIpxeFile = "ipxe.efi";        // UEFI: iPXE's own NIC drivers
inline constexpr const char* kEfiSnpFile = "snponly.efi";      // UEFI: iPXE over firmware SNP

// Where Debian's ipxe package installs them (`dpkg -L ipxe`).
inline constexpr const char* kDebianIpxeDir = "/usr/lib/ipxe";

// Copies the three boot files from source_dir into tftp_root (created if missing, mode 0755),
// each through a temporary file and a rename, so a TFTP transfer running meanwhile reads either
// the old file or the new one, never half of one. Files are left world-readable (0644) because
// dnsmasq serves TFTP after dropping root. Fails, naming the missing file and the package to
// install, when source_dir lacks any of them.
base::Status install_boot_files(const std::filesystem::path& tftp_root,
                                const std::filesystem::path& source_dir = kDebianIpxeDir);

}  // namespace pxe
