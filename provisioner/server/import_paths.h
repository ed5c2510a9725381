// Where `template add` and `image import` may read from: only inside the server's import
// directories (STATE/import and each --import-dir), so that an operator token cannot make the
// server read, copy and sign any file it can read (/etc/shadow, STATE/site.key).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace provisioner::server {

struct ServerConfig;

// STATE/import first, then each --import-dir, as configured (not yet resolved).
std::vector<std::filesystem::path> import_directories(const ServerConfig& config);

struct ImportPath {
    enum class Refusal {
        none,       // resolved is the file or directory to read
        malformed,  // not absolute, or with a ".." component: 400
        outside,    // not inside an import directory, or a symlink leads out of one: 403
        missing,    // inside one, but nothing is there: 404
    };
    Refusal refusal = Refusal::none;
    std::string message;             // why, naming the path and the import directories
    std::filesystem::path resolved;  // symlinks resolved (realpath)
};

// Checks requested against dirs. The path is first checked as written (so nothing outside is
// even looked at), then resolved and checked again, so that a symlink inside an import
// directory cannot lead out of it. Whatever lies in state_dir, except under STATE/import, is
// refused even when an import directory contains the state directory. With directory_tree,
// every symlink under a resolved directory must stay inside the import directories too (an
// image pack is served from where it lies). Reads the file system; thread-safe.
ImportPath check_import_path(const std::vector<std::filesystem::path>& dirs,
                             const std::filesystem::path& state_dir, std::string_view requested,
                             bool directory_tree = false);

}  // namespace provisioner::server
