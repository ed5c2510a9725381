// The effects a Supervisor has on the world, behind narrow interfaces (leveldb's Env idea):
// starting, reaping and signalling a child process (below), and time (base::Clock). The real
// implementations are below and in base; tests use fakes, so restart and backoff are checked
// without processes or sleeping.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace pxe {

// How a child ended.
struct ExitStatus {
    enum class Kind { kExited, kSignaled, kUnknown };
    Kind kind = Kind::kUnknown;
    int value = 0;  // exit code or signal number

    static ExitStatus exited(int code) { return {Kind::kExited, code}; }
    static ExitStatus signaled(int sig) { return {Kind::kSignaled, sig}; }
    static ExitStatus from_wait_status(int wait_status);

    // "exited with status 1", "killed by signal 9 (SIGKILL)", "ended (status unknown)".
    std::string describe() const;
    bool operator==(const ExitStatus&) const = default;
};

class ProcessLauncher {
  public:
    virtual ~ProcessLauncher() = default;
    // Starts argv[0] (a path, not searched in PATH) with argv; the child shares our stdout and
    // stderr. An error when the program cannot be executed at all.
    virtual base::Result<int> spawn(const std::vector<std::string>& argv) = 0;
    // Reaps the child if it has ended; nothing while it runs. Never blocks.
    virtual std::optional<ExitStatus> try_reap(int pid) = 0;
    virtual void send_signal(int pid, int sig) = 0;
};

using Clock = base::Clock;

// fork + execv. The child inherits only stdin, stdout and stderr, gets an empty signal mask and
// default SIGPIPE (a parent that blocks SIGCHLD/SIGTERM for sigtimedwait would otherwise pass that
// on), and SIGTERM as its parent-death signal, so it does not outlive a parent killed -9 (unless it
// changes user, which clears that: dnsmasq does when started as root without user=root; see
// make_guarded_launcher). Exec
// failures come back through a close-on-exec pipe as spawn's error. Call spawn from a long-lived
// thread: the parent-death signal fires when the forking thread ends.
std::unique_ptr<ProcessLauncher> make_posix_launcher();

// As make_posix_launcher, for a program that changes user (dnsmasq), which clears the
// parent-death signal: each child runs under a guard, a second fork of ours that keeps it and
// does nothing but wait. spawn returns the guard's pid; the guard passes SIGTERM, SIGINT,
// SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 on, follows SIGTERM (SIGINT, SIGQUIT) with SIGKILL 3 s
// later, and ends as the child ended (its exit status, or the same signal). When the parent
// dies, even by SIGKILL, the guard gets SIGTERM, and so the child does.
std::unique_ptr<ProcessLauncher> make_guarded_launcher();

}  // namespace pxe
