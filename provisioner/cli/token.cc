#include "token.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace provisioner::cli {
namespace {

std::string trimmed(std::string text) {
    const char* kSpace = " \t\r\n";
    auto first = text.find_first_not_of(kSpace);
    if (first == std::string::npos) return "";
    auto last = text.find_last_not_of(kSpace);
    return text.substr(first, last - first + 1);
}

imaging::Result<std::string> read_token_file(const std::string& path) {
    errno = 0;
    std::ifstream in(path);
    if (!in) return imaging::errno_status("reading " + path, errno ? errno : EIO);
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return imaging::errno_status("reading " + path, errno ? errno : EIO);
    return trimmed(text.str());
}

const char* env(const char* name) {
    const char* value = std::getenv(name);
    return value && *value ? value : nullptr;
}

}  // namespace

imaging::Result<TokenChoice> resolve_token(const std::string& flag,
                                           const std::string& default_file) {
    if (!flag.empty()) return TokenChoice{flag, "--token"};
    if (const char* token = env("PROVISIONER_TOKEN")) {
        return TokenChoice{trimmed(token), "$PROVISIONER_TOKEN"};
    }
    if (const char* path = env("PROVISIONER_TOKEN_FILE")) {
        auto token = read_token_file(path);
        if (!token) return token.status().context("$PROVISIONER_TOKEN_FILE");
        if (token->empty()) {
            return imaging::Status::error(std::string("the token file ") + path +
                                          " (from $PROVISIONER_TOKEN_FILE) is empty");
        }
        return TokenChoice{*token, path};
    }
    if (auto token = read_token_file(default_file); token && !token->empty()) {
        return TokenChoice{*token, default_file};
    }
    return TokenChoice{};
}

}  // namespace provisioner::cli
