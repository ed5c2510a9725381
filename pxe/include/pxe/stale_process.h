// Cleaning up after an earlier run that was killed -9: its dnsmasq keeps running (dnsmasq drops
// root, which clears the parent-death signal) and holds the DHCP and TFTP ports, so a new one
// could never bind them.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "base/status.h"

namespace pxe {

// If pid_file names a live process whose command line contains marker (use the
// "--conf-file=<path>" argument, which only our dnsmasq has), sends it SIGTERM, waits up to
// timeout for it to go, then SIGKILL. A missing pid file, a dead pid or someone else's process
// (a recycled pid) is left alone. Returns the pid it ended, nothing when there was none, or an
// error when the process survived SIGKILL. Call before Supervisor::start().
base::Result<std::optional<int>> end_stale_process(
    const std::filesystem::path& pid_file, const std::string& marker,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

}  // namespace pxe
