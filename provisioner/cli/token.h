// Where the operator's API token comes from, in the order the CLI looks: --token, then
// $PROVISIONER_TOKEN, then the file named by $PROVISIONER_TOKEN_FILE, then the token file that
// `provisionerd init` writes, when it is readable.
#pragma once

#include <optional>
#include <string>

#include "imaging/status.h"

namespace provisioner::cli {

inline constexpr const char* kDefaultTokenFile = "/var/lib/provisioner/operator.token";

struct TokenChoice {
    std::string token;   // empty: no token found; requests go without one
    std::string origin;  // for messages: "--token", "$PROVISIONER_TOKEN", "/path/to/file", ...
};

// flag is the value of --token (empty when not given). A $PROVISIONER_TOKEN_FILE that cannot be
// read, or an empty token file, is an error: the user named it, so silently going on without
// it would only move the failure to a puzzling 401. The default file is only used if readable.
imaging::Result<TokenChoice> resolve_token(const std::string& flag,
                                           const std::string& default_file = kDefaultTokenFile);

}  // namespace provisioner::cli
