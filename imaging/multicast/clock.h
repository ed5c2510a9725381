// Time as the protocol engines see it: base::Clock, the one clock interface of every folder,
// so repair, timeouts and rate control run deterministically in tests under a
// base::FakeClock (base::real_clock() in the tools).
#pragma once

#include <chrono>

#include "base/clock.h"

namespace imaging::multicast {

using Duration = std::chrono::nanoseconds;
using TimePoint = base::Clock::time_point;
using Clock = base::Clock;
using FakeClock = base::FakeClock;  // starts at a steady 1000 s; moves only when told to

}  // namespace imaging::multicast
