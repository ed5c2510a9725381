#include "base/clock.h"

#include <thread>

namespace base {

namespace {

class RealClock final : public Clock {
  public:
    time_point now() override { return std::chrono::steady_clock::now(); }
    wall_time_point wall_now() override { return std::chrono::system_clock::now(); }
    void sleep_for(std::chrono::milliseconds d) override { std::this_thread::sleep_for(d); }
};

}  // namespace

Clock& real_clock() {
    static RealClock* clock = new RealClock;  // never destroyed: usable from static destructors
    return *clock;
}

FakeClock::FakeClock()
    : steady_start_(time_point(std::chrono::seconds(1000))),
      wall_start_(std::chrono::system_clock::now()) {}

Clock::time_point FakeClock::now() {
    return steady_start_ + std::chrono::nanoseconds(offset_.load());
}

Clock::wall_time_point FakeClock::wall_now() {
    return wall_start_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                             std::chrono::nanoseconds(offset_.load()));
}

}  // namespace base
