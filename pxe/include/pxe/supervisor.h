// Keeps one child process (dnsmasq) running: restarts it with exponential backoff when it dies,
// logs every exit and restart with the exit status, and stops it (SIGTERM, then SIGKILL after a
// timeout) on stop() or destruction.
//
// Event-driven, not threaded: the owner calls poll() when SIGCHLD arrives (asio::signal_set,
// signalfd or sigtimedwait) and no later than next_wakeup(), when a restart is due. Not
// thread-safe: one thread owns a Supervisor and calls all its methods. The launcher and clock
// must outlive it.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "imaging/status.h"
#include "pxe/process.h"

namespace pxe {

struct SupervisorOptions {
    std::vector<std::string> argv;  // see dnsmasq_argv
    std::string name = "dnsmasq";   // in log lines
    // Delay before the first restart after a death; doubles on each quick death up to max.
    std::chrono::milliseconds initial_backoff{500};
    std::chrono::milliseconds max_backoff{30000};
    // A child that ran this long before dying was healthy: the backoff starts over.
    std::chrono::milliseconds stable_after{10000};
    // How long stop() waits after SIGTERM before SIGKILL.
    std::chrono::milliseconds stop_timeout{5000};
    // One line per event, no trailing newline; default: stderr.
    std::function<void(const std::string&)> log;
};

class Supervisor {
  public:
    Supervisor(SupervisorOptions options, ProcessLauncher& launcher, Clock& clock);
    ~Supervisor();  // stop()
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    // Starts the child. An error (and nothing supervised) when it cannot be executed at all,
    // which is a setup problem, not a crash to retry.
    imaging::Status start();

    // Reaps the child if it died and schedules its restart; restarts it when the backoff is
    // over. Cheap when nothing happened.
    void poll();

    // When poll() must run next even without SIGCHLD: a pending restart. Nothing when the
    // child runs (SIGCHLD will come) or the supervisor is stopped.
    std::optional<Clock::time_point> next_wakeup() const;

    // SIGTERM, up to stop_timeout for it to exit, then SIGKILL. Idempotent; no restarts after.
    void stop();

    // Forwards a signal to the running child (SIGHUP: dnsmasq re-reads its hosts dir). An
    // error when no child runs at the moment (it is between a death and its restart).
    imaging::Status signal(int sig);

    std::optional<int> pid() const;
    int restarts() const { return restarts_; }
    bool stopped() const { return state_ == State::kStopped; }

  private:
    enum class State { kIdle, kRunning, kWaiting, kStopped };

    void log(const std::string& line) const;
    void try_restart();
    void schedule_restart();
    double seconds(std::chrono::nanoseconds d) const;

    SupervisorOptions options_;
    ProcessLauncher& launcher_;
    Clock& clock_;
    State state_ = State::kIdle;
    int pid_ = -1;
    Clock::time_point started_at_{};
    Clock::time_point restart_at_{};
    std::chrono::milliseconds backoff_;
    int restarts_ = 0;
};

}  // namespace pxe
