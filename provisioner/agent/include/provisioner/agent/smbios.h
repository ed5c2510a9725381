// SMBIOS OEM strings (structure type 11), how the host agent hands a KVM guest its
// provisioner.* settings: libvirt's <oemStrings> become entries that Linux shows as
// /sys/firmware/dmi/entries/11-N/raw.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "imaging/status.h"

namespace provisioner::agent {

inline constexpr const char* kSmbiosEntries = "/sys/firmware/dmi/entries";

// The strings of one raw type-11 structure: a 4-byte header (type 11, length, handle), byte 4
// the number of strings, then from offset `length` the string set (each NUL-terminated, the
// set ending with a second NUL). An error for another type, a short or truncated structure.
imaging::Result<std::vector<std::string>> parse_smbios_oem_strings(std::string_view raw);

// Every key=value of every type-11 entry under `entries` (DIR/11-*/raw), read as kernel
// command line words (cmdline.h), so one string may hold several space-separated pairs. Entries
// that cannot be read or parsed are skipped; no entries give an empty map. A key repeated
// across entries keeps the value of the last entry in name order.
std::map<std::string, std::string> read_smbios_oem_settings(
    const std::filesystem::path& entries = kSmbiosEntries);

}  // namespace provisioner::agent
