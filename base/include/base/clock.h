// Time, behind an interface (leveldb's Env idea, for time alone): code that times something
// (a deadline, a backoff, a lifetime) asks a Clock it was given, so that its tests move a
// FakeClock forward instead of sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace base {

class Clock {
  public:
    using time_point = std::chrono::steady_clock::time_point;
    using wall_time_point = std::chrono::system_clock::time_point;
    virtual ~Clock() = default;
    // Monotonic: for durations, deadlines and backoffs.
    virtual time_point now() = 0;
    // The calendar's time: for timestamps that people read or that outlive the process.
    virtual wall_time_point wall_now() = 0;
    virtual void sleep_for(std::chrono::milliseconds d) = 0;
};

// std::chrono::steady_clock, system_clock and std::this_thread::sleep_for. One for the
// process, thread-safe, never destroyed.
Clock& real_clock();

// Time stands still until advance() (or sleep_for, which advances instead of sleeping) moves
// it; both readings move together. Thread-safe, so that a test may read it from the thread
// that runs the code under test while another advances it.
class FakeClock final : public Clock {
  public:
    // Starts at a steady time of 1000 s (a default time_point of 0 would read as "never") and
    // at the real wall time of its making.
    FakeClock();
    time_point now() override;
    wall_time_point wall_now() override;
    void sleep_for(std::chrono::milliseconds d) override { advance(d); }
    void advance(std::chrono::nanoseconds d) { offset_ += d.count(); }

  private:
    const time_point steady_start_;
    const wall_time_point wall_start_;
    std::atomic<std::int64_t> offset_{0};  // nanoseconds advanced
};

}  // namespace base
