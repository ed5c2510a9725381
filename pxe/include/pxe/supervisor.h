// Keeps one child process running (dnsmasq, an imaging sender, seed or delta server), or runs
// it once (a job such as `imaging torrent`): restarts a service with exponential backoff when it
// dies, logs every exit and restart with the exit status, counts the deaths in a row so that
// the owner can tell a child that keeps dying, and stops it (SIGTERM, then SIGKILL after a
// timeout), either waiting (stop) or not (terminate, then poll).
//
// Event-driven, not threaded: the owner calls poll() when SIGCHLD arrives (asio::signal_set,
// signalfd or sigtimedwait), or on a timer, and no later than next_wakeup(). Never blocks,
// except stop(). Not thread-safe: one thread owns a Supervisor and calls all its methods
// (provisionerd: the process thread, which forks every child). The launcher and clock must
// outlive it.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
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
    // How long after SIGTERM before SIGKILL (stop, terminate).
    std::chrono::milliseconds stop_timeout{5000};
    // false: a job, run once; when it ends, exit_status() says how, and nothing restarts it.
    bool restart = true;
    // A start that cannot execute the program at all. false (dnsmasq): a setup problem, start()
    // fails and nothing is supervised. true (children whose program may be replaced under a
    // running server): start() still reports it, and it is retried after the backoff as if the
    // child had died at once.
    bool retry_failed_start = false;
    // One line per event, no trailing newline; default: stderr.
    std::function<void(const std::string&)> log;
};

class Supervisor {
  public:
    Supervisor(SupervisorOptions options, ProcessLauncher& launcher, Clock& clock);
    ~Supervisor();  // stop()
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    // Starts the child. An error when it cannot be executed at all (see retry_failed_start).
    base::Status start();

    // Reaps the child if it died and schedules its restart; restarts it when the backoff is
    // over; a terminating child that outlived stop_timeout gets SIGKILL. Cheap when nothing
    // happened.
    void poll();

    // When poll() must run next even without SIGCHLD: a pending restart, or a SIGKILL due.
    // Nothing when the child runs (SIGCHLD will come) or the supervisor is stopped.
    std::optional<Clock::time_point> next_wakeup() const;

    // SIGTERM, up to stop_timeout for it to exit, then SIGKILL and as long again. Idempotent;
    // no restarts after. Blocks (in clock.sleep_for): for a server's shutdown.
    void stop();
    // SIGTERM now and no restarts after; later polls reap it, with SIGKILL past stop_timeout.
    // Never blocks. stopped() once it is reaped (at once when no child ran).
    void terminate();

    // Forwards a signal to the running child (SIGHUP: dnsmasq re-reads its hosts dir). An
    // error when no child runs at the moment (it is between a death and its restart).
    base::Status signal(int sig);

    // The command of every later (re)start; the running child keeps its own.
    void set_argv(std::vector<std::string> argv) { options_.argv = std::move(argv); }

    std::optional<int> pid() const;
    int restarts() const { return restarts_; }
    // Deaths in a row, each within stable_after of its start and not a clean exit (status 0);
    // a start that could not execute counts as one. 0 again once a child runs stable_after or
    // exits cleanly.
    int quick_deaths() const { return quick_deaths_; }
    // How the last child ended ("exited with status 1") or why the last start failed; "".
    const std::string& last_exit() const { return last_exit_; }
    // A job's exit status once it ended (restart false); nothing before, and for a service.
    std::optional<ExitStatus> exit_status() const { return exit_status_; }
    // Stopped or terminated, and no child left to reap; or a job that ended.
    bool stopped() const { return state_ == State::kStopped || state_ == State::kEnded; }

  private:
    enum class State { kIdle, kRunning, kWaiting, kTerminating, kStopped, kEnded };

    void log(const std::string& line) const;
    void try_restart();
    void schedule_restart();
    void count_death(bool quick_failure);
    // The SIGTERM/SIGKILL escalation of a terminating child; stopped() once it is reaped.
    void poll_terminating();
    double seconds(std::chrono::nanoseconds d) const;

    SupervisorOptions options_;
    ProcessLauncher& launcher_;
    Clock& clock_;
    State state_ = State::kIdle;
    int pid_ = -1;
    Clock::time_point started_at_{};
    Clock::time_point restart_at_{};
    Clock::time_point term_at_{};
    bool killed_ = false;  // a terminating child was sent SIGKILL
    std::chrono::milliseconds backoff_;
    int restarts_ = 0;
    int quick_deaths_ = 0;
    std::string last_exit_;
    std::optional<ExitStatus> exit_status_;
};

}  // namespace pxe
