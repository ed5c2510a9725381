// One-shot HTTP/1.1 requests over http:// or https://, bounded in time and body size: what a
// host uses to fetch a .torrent or talk to provisionerd's API, and what the provisioner CLI
// uses. An https:// server is verified (chain to a trusted CA, and its name or address in the
// certificate); a certificate that does not verify fails the request, never falls back.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace imaging::http {

struct Url {
    std::string host;
    std::string port = "80";
    std::string target = "/";
    bool tls = false;  // https://
};

// Parses "http://HOST[:PORT][/PATH]" (port 80) and "https://HOST[:PORT][/PATH]" (port 443);
// nullopt for anything else.
std::optional<Url> parse_http_url(std::string_view url);

struct GetResult {
    bool ok = false;
    unsigned status = 0;
    std::string body;
    std::string error;  // when !ok: one line saying what failed
};

struct ClientRequest {
    std::string method = "GET";  // any token Beast knows: GET, POST, PUT, DELETE, ...
    std::string url;             // http[s]://HOST[:PORT]/PATH[?QUERY]
    std::vector<std::pair<std::string, std::string>> headers;  // e.g. {"Authorization", "Bearer X"}
    std::string body;  // sent with Content-Length when not empty
    std::string content_type = "application/json";
    std::chrono::milliseconds timeout{10'000};  // for the whole exchange
    std::size_t max_body_bytes = 64 << 20;
    // https:// only: the PEM file of the CA(s) the server's certificate must chain to; empty:
    // default_ca_file() (tls.h), else the system's trusted CAs.
    std::string ca_file;
};

struct ClientResponse {
    bool transport_ok = false;  // a response arrived (whatever its status)
    unsigned status = 0;
    std::string content_type;
    std::string body;
    std::string error;  // when !transport_ok: one line saying what failed (stage and reason)
    bool success() const { return transport_ok && status >= 200 && status < 300; }
};

// Any status is a response; only a failure to exchange one is an error.
ClientResponse http_request(const ClientRequest& request);

// A non-2xx status is a failure too (error holds the status line).
GetResult http_get(std::string_view url, std::chrono::milliseconds timeout,
                   std::size_t max_body_bytes);

}  // namespace imaging::http
