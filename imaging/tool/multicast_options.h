// What `imaging send` and `imaging receive --transport multicast` share: the rate syntax and
// the stop flag set by SIGINT/SIGTERM.
#pragma once

#include <atomic>
#include <optional>
#include <string>

namespace imaging::tool {

// "500M", "1.5G", "800k" or a plain number of bits per second.
std::optional<double> parse_bits_per_second(const std::string& text);

// Installs SIGINT/SIGTERM handlers (without SA_RESTART, so waits return) that set the flag.
const std::atomic<bool>& stop_on_signals();

}  // namespace imaging::tool
