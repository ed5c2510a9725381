// The bounds every connection of an imaging::http::Server lives within. A request over a limit
// is answered with the matching status (413, 431, 503) or closed, and never reaches a handler.
#pragma once

#include <chrono>
#include <cstddef>

namespace imaging::http {

struct Limits {
    std::size_t max_body_bytes = 1 << 20;   // larger bodies: 413 Payload Too Large
    std::size_t max_header_bytes = 8 << 10;  // start line + headers; larger: 431
    // From the first byte of a request (or the end of the previous response) to its last
    // byte; a slow or idle client is disconnected when it passes.
    std::chrono::milliseconds request_timeout{10'000};
    std::chrono::milliseconds write_timeout{10'000};
    std::size_t max_connections = 512;  // further connections get 503 and are closed
    std::size_t max_requests_per_connection = 1000;
};

}  // namespace imaging::http
