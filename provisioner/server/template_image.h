// A catalog template's file packed as an imaging image, STATE/templates/NAME@VERSION.image/
// (manifest.json and chunks.pack, signed with the server's key), so that `imaging serve` can
// hand it to the hosts' pre-copy by the delta transport (provisioner/API.md, "Templates").
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "provisioner/status.h"

namespace provisioner::server {

// DIR/NAME@VERSION.image for the template ref names.
std::filesystem::path template_image_dir(const std::filesystem::path& templates_dir,
                                         const std::string& ref);

// Packs file as image name@version, signed with the key in key_file, into
// template_image_dir(templates_dir, name@version), which must not exist (conflict). Written
// under DIR.partial and renamed, so the directory appears only whole; nothing is left behind
// on failure (storage, naming what failed). progress: raw bytes packed of the file's size.
using PackProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;
Status pack_template_image(const std::filesystem::path& file,
                           const std::filesystem::path& templates_dir, const std::string& name,
                           const std::string& version, const std::filesystem::path& key_file,
                           const PackProgress& progress = {});

// Deletes a template's packed image, if there is one.
void remove_template_image(const std::filesystem::path& templates_dir, const std::string& ref);

}  // namespace provisioner::server
