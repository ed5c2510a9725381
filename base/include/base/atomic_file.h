// Writing a whole file so that a reader, or the file after a crash, sees either the old content
// or the new, never a part: write a temporary beside it, fsync it, rename it over the file, fsync
// the directory (without that last step the rename itself may be lost in a crash).
#pragma once

#include <filesystem>
#include <string_view>

#include "base/status.h"

namespace base {

// durable: fsync the file before the rename and the directory after. advisory: neither, so a
// crash may bring back the previous content (fine for what is only advisory, such as use times).
enum class Durability { durable, advisory };

// Replaces path's content with contents, with permissions mode exactly (the umask takes nothing
// away). The temporary is ".NAME.tmp-PID-N" in path's directory (a dot file: dnsmasq's hostsdir
// and other watchers skip it), created exclusively with mode and never through a symlink; on
// any error it is removed and path is untouched. The directory must exist. Errors are
// Code::storage, "writing PATH: STEP: REASON", the same for the same failure (no temporary's
// name in it). Thread-safe (each call has its own temporary).
Status write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                             std::filesystem::perms mode = std::filesystem::perms(0644),
                             Durability durability = Durability::durable);

// As write_file_atomically with mode 0600: secrets, keys, tokens.
Status write_private_file(const std::filesystem::path& path, std::string_view contents);

// fsync of a file, or of a directory (so that a rename or a new entry in it is durable).
// Code::storage, "fsync PATH: REASON", on failure.
Status sync_path(const std::filesystem::path& path);

}  // namespace base
