// Reading a small file (a key, a certificate) whole, for the state directory's files.
#pragma once

#include <filesystem>
#include <string>

#include "provisioner/status.h"

namespace provisioner::server {

// path's whole content; not_found "cannot read PATH" when it cannot be opened.
Result<std::string> read_text_file(const std::filesystem::path& path);

}  // namespace provisioner::server
