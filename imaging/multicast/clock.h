// Time as the protocol engines see it: a monotonic clock behind an interface, so repair,
// timeouts and rate control run deterministically in tests under a FakeClock.
#pragma once

#include <chrono>

namespace imaging::multicast {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

class Clock {
  public:
    virtual ~Clock() = default;
    virtual TimePoint now() const = 0;
};

class SteadyClock final : public Clock {
  public:
    TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

// Moves only when told to.
class FakeClock final : public Clock {
  public:
    TimePoint now() const override { return now_; }
    void advance(Duration d) { now_ += d; }

  private:
    TimePoint now_{std::chrono::seconds(1000)};
};

}  // namespace imaging::multicast
