// Turns `imaging pack` output (a directory with manifest.json and chunks.pack) into an Image
// record. Reads the manifest without checking its signature: the server signed it itself.
#pragma once

#include <filesystem>

#include "provisioner/records.h"
#include "provisioner/status.h"

namespace provisioner {

// invalid_argument if the directory holds no readable, well-formed manifest or no pack.
Result<Image> image_from_pack(const std::filesystem::path& image_dir);

}  // namespace provisioner
