// The web UI's files, built into the program (provisioner/ui/web, embedded by
// embed_assets.cmake): what provisionerd serves at / and under /ui/.
#pragma once

#include <span>
#include <string_view>

namespace provisioner::ui {

struct Asset {
    std::string_view path;          // relative to web/: "index.html", "pages/hosts.js"
    std::string_view content_type;  // for Content-Type
    std::string_view body;
};

std::span<const Asset> assets();
// The file at path, or nullptr.
const Asset* find_asset(std::string_view path);

}  // namespace provisioner::ui
