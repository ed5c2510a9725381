// --secret-file for the transports' commands: the deployment's secret (imaging/secret.h),
// read from a file so that it never appears in `ps`.
#pragma once

#include <optional>
#include <string>

#include "imaging/secret.h"

namespace CLI {
class App;
}

namespace imaging::tool {

void add_secret_option(CLI::App& app, std::string& path);
// No path: no secret (standalone use, peers unauthenticated). Otherwise the file's secret.
Result<std::optional<Secret>> load_secret_option(const std::string& path);

}  // namespace imaging::tool
