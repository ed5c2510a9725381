// File-system steps that leave nothing half made: durable writes and renames, and a
// sparse-aware copy. The template store's, and the agent's for files it writes.
#pragma once

#include <filesystem>
#include <string>

#include "provisioner/status.h"

namespace provisioner::vmhost {

// A name beside path for work in progress: "PATH.partial-<pid>".
std::filesystem::path partial_path(const std::filesystem::path& path);

// fsync of a file, or of a directory (so that a rename in it is durable).
Status sync_path(const std::filesystem::path& path);

// Writes text to path through a partial file and a rename, so that path is always whole.
// durable: fsync the file before and the directory after the rename; without it a crash may
// bring back the previous content (fine for what is only advisory, like use times).
Status write_file_atomically(const std::filesystem::path& path, const std::string& text,
                             bool durable = true);

// Copies src to dst (which must not exist), only src's data extents (SEEK_DATA/SEEK_HOLE),
// leaving holes where src has them, through copy_file_range; then fsync. On failure dst is
// removed.
Status copy_sparse(const std::filesystem::path& src, const std::filesystem::path& dst);

// Renames from to to if to does not exist (renameat2 RENAME_NOREPLACE): conflict otherwise.
Status rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to);

Status errno_status(const std::string& what);

}  // namespace provisioner::vmhost
