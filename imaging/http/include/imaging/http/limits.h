// The bounds every connection of an imaging::http::Server lives within. A request over a limit
// is answered with the matching status (413, 431, 503) or closed, and never reaches a handler.
#pragma once

#include <chrono>
#include <cstddef>

namespace imaging::http {

struct Limits {
    std::size_t max_body_bytes = 1 << 20;   // larger bodies: 413 Payload Too Large
    std::size_t max_header_bytes = 8 << 10;  // start line + headers; larger: 431
    // From the first byte of a request (on a new connection: from its accept) to its last
    // byte; a slow client is disconnected when it passes.
    std::chrono::milliseconds request_timeout{10'000};
    // How long a kept connection waits for the first byte of its next request before it is
    // closed; 0: request_timeout. Above an agent's report interval, its kept connection lasts.
    std::chrono::milliseconds idle_timeout{0};
    std::chrono::milliseconds write_timeout{10'000};
    // When this many are open, a new connection closes the kept connection idle longest;
    // when none is idle, it gets 503 (plain) or is closed (TLS).
    std::size_t max_connections = 512;
    std::size_t max_requests_per_connection = 1000;
    // The handlers of Dispatch::worker_pool routes run on this many threads (0: on the I/O
    // threads, like every other), with at most max_queued_requests waiting for one; a request
    // beyond that is answered 503 with Retry-After at once.
    std::size_t worker_threads = 0;
    std::size_t max_queued_requests = 256;
};

}  // namespace imaging::http
