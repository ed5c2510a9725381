#include "secret_option.h"

#include <CLI/CLI.hpp>

namespace imaging::tool {

void add_secret_option(CLI::App& app, std::string& path) {
    app.add_option("--secret-file", path,
                   "file (mode 0600) holding the deployment's secret, 64 hex digits: peers "
                   "without it are refused (default: no authentication)");
}

Result<std::optional<Secret>> load_secret_option(const std::string& path) {
    if (path.empty()) return std::optional<Secret>();
    auto s = read_secret_file(path);
    if (!s) return s.status().context("--secret-file");
    return std::optional<Secret>(*s);
}

}  // namespace imaging::tool
