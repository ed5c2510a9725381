// provisionerd's file descriptors, split between the HTTP server's connections (one kept
// connection per reporting host) and the metrics history's open files, so that both fit under
// RLIMIT_NOFILE with room left for everything else (the store, children's pipes, images).
#pragma once

#include <cstddef>

#include "provisioner/status.h"

namespace provisioner::server {

struct FdBudget {
    std::size_t limit = 0;          // RLIMIT_NOFILE's soft limit
    std::size_t connections = 0;    // the HTTP server's max_connections
    std::size_t history_files = 0;  // HistoryOptions::max_open_files
};

// Default connections: half of limit, at most 16,384 (10,000 hosts' kept connections and the
// API's clients), at least 64; asked_connections (0: the default) may be at most half of
// limit. The history takes what the connections leave but a sixteenth of it (at least 256),
// which is for the rest.
Result<FdBudget> split_fd_budget(std::size_t limit, std::size_t asked_connections);

// Raises RLIMIT_NOFILE's soft limit to its hard limit (at most 2^20) and returns the soft
// limit then in force.
std::size_t raise_open_file_limit();

}  // namespace provisioner::server
