// Transfer rates measured by the CLI from successive progress samples, per target. The
// client's own clock is used, never the server's, so clock skew between them does not matter.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>

#include "base/clock.h"

namespace provisioner::cli {

class RateMeter {
  public:
    using Clock = base::Clock;
    explicit RateMeter(std::chrono::milliseconds window = std::chrono::seconds(5))
        : window_(window) {}

    // A sample of key's bytes done at time now. A count that goes down (a restarted transfer)
    // starts the measurement afresh.
    void sample(const std::string& key, Clock::time_point now, std::uint64_t bytes_done);
    // Bytes per second over the window; 0 until two samples half a second apart exist.
    double rate(const std::string& key) const;

  private:
    struct Sample {
        Clock::time_point time;
        std::uint64_t bytes;
    };
    std::chrono::milliseconds window_;
    std::map<std::string, std::deque<Sample>> samples_;
};

}  // namespace provisioner::cli
