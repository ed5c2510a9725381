// A one-shot HTTP/1.1 GET (plain http:// only), bounded in time and body size: what a host
// uses to fetch a .torrent or a small document from the provisioning server.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace imaging::http {

struct Url {
    std::string host;
    std::string port = "80";
    std::string target = "/";
};

// Parses "http://HOST[:PORT][/PATH]"; nullopt for anything else.
std::optional<Url> parse_http_url(std::string_view url);

struct GetResult {
    bool ok = false;
    unsigned status = 0;
    std::string body;
    std::string error;  // when !ok: one line saying what failed
};

// A non-2xx status is a failure too (error holds the status line).
GetResult http_get(std::string_view url, std::chrono::milliseconds timeout,
                   std::size_t max_body_bytes);

}  // namespace imaging::http
