// File-system steps that leave nothing half made: renames and a sparse-aware copy (the template
// store's). Whole files are written by base::write_file_atomically (base/atomic_file.h).
#pragma once

#include <filesystem>
#include <string>

#include "provisioner/status.h"

namespace provisioner::vmhost {

// A name beside path for work in progress: "PATH.partial-<pid>".
std::filesystem::path partial_path(const std::filesystem::path& path);

// Copies src to dst (which must not exist), only src's data extents (SEEK_DATA/SEEK_HOLE),
// leaving holes where src has them, through copy_file_range; then fsync. On failure dst is
// removed.
Status copy_sparse(const std::filesystem::path& src, const std::filesystem::path& dst);

// Renames from to to if to does not exist (renameat2 RENAME_NOREPLACE): conflict otherwise.
Status rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to);

Status errno_status(const std::string& what);

}  // namespace provisioner::vmhost
