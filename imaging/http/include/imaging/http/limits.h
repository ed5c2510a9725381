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
    // The handlers of Dispatch::worker_pool routes run on this many threads (0: on the I/O
    // threads, like every other), with at most max_queued_requests waiting for one; a request
    // beyond that is answered 503 with Retry-After at once.
    std::size_t worker_threads = 0;
    std::size_t max_queued_requests = 256;
};

}  // namespace imaging::http
