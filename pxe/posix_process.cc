#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "pxe/process.h"

namespace pxe {

using base::Result;
using base::Status;

ExitStatus ExitStatus::from_wait_status(int wait_status) {
    if (WIFEXITED(wait_status)) return exited(WEXITSTATUS(wait_status));
    if (WIFSIGNALED(wait_status)) return signaled(WTERMSIG(wait_status));
    return {};
}

std::string ExitStatus::describe() const {
    switch (kind) {
        case Kind::kExited:
            return "exited with status " + std::to_string(value);
        case Kind::kSignaled: {
            const char* abbrev = sigabbrev_np(value);
            return "killed by signal " + std::to_string(value) +
                   (abbrev ? std::string(" (SIG") + abbrev + ")" : std::string());
        }
        case Kind::kUnknown:
            break;
    }
    return "ended (status unknown)";
}

namespace {

// The guard (make_guarded_launcher): a forked copy of a multi-threaded process, so only
// async-signal-safe calls from here on. Its handlers only note a signal; they run only inside
// sigsuspend, where the noted signals are unblocked.
volatile sig_atomic_t g_noted[NSIG];
constexpr int kPassedOn[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
constexpr unsigned kKillAfterSeconds = 3;  // within Supervisor's default stop_timeout (5 s)

void note_signal(int sig) {
    g_noted[sig] = 1;
}

// Ends as child ended: its exit status, or the same signal.
[[noreturn]] void end_as(int wait_status) {
    if (WIFEXITED(wait_status)) ::_exit(WEXITSTATUS(wait_status));
    const int sig = WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : SIGKILL;
    struct sigaction dfl{};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(sig, &dfl, nullptr);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, sig);
    ::sigprocmask(SIG_UNBLOCK, &only, nullptr);
    ::kill(::getpid(), sig);
    ::_exit(128 + sig);
}

// Runs args as the guard's own child, passes signals on, and ends as it ended. The guard keeps
// its parent-death signal (SIGTERM, set before): when the parent dies, the child gets SIGTERM,
// and SIGKILL kKillAfterSeconds later. report: the spawn's exec-error pipe (written by the
// child when execv fails; closed here so the parent reads its end-of-file on success).
[[noreturn]] void run_guard(char* const* args, int report) {
    sigset_t watched;
    sigemptyset(&watched);
    for (int sig : kPassedOn) sigaddset(&watched, sig);
    sigaddset(&watched, SIGCHLD);
    sigaddset(&watched, SIGALRM);
    ::sigprocmask(SIG_BLOCK, &watched, nullptr);
    struct sigaction note{};
    note.sa_handler = note_signal;
    sigemptyset(&note.sa_mask);
    for (int sig : kPassedOn) ::sigaction(sig, &note, nullptr);
    ::sigaction(SIGCHLD, &note, nullptr);
    ::sigaction(SIGALRM, &note, nullptr);
    const pid_t child = ::fork();
    if (child < 0) {
        const int err = errno;
        [[maybe_unused]] ssize_t n = ::write(report, &err, sizeof err);
        ::_exit(127);
    }
    if (child == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // should the guard ever end first
        struct sigaction dfl{};
        dfl.sa_handler = SIG_DFL;
        ::sigaction(SIGCHLD, &dfl, nullptr);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execv(args[0], args);
        const int err = errno;
        [[maybe_unused]] ssize_t n = ::write(report, &err, sizeof err);
        ::_exit(127);
    }
    ::close(report);
    sigset_t waiting;
    ::sigprocmask(SIG_SETMASK, nullptr, &waiting);
    for (int sig : kPassedOn) sigdelset(&waiting, sig);
    sigdelset(&waiting, SIGCHLD);
    sigdelset(&waiting, SIGALRM);
    bool terminating = false;
    for (;;) {
        ::sigsuspend(&waiting);
        for (int sig : kPassedOn) {
            if (!g_noted[sig]) continue;
            g_noted[sig] = 0;
            ::kill(child, sig);
            if ((sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) && !terminating) {
                terminating = true;
                ::alarm(kKillAfterSeconds);
            }
        }
        if (g_noted[SIGALRM]) {
            g_noted[SIGALRM] = 0;
            ::kill(child, SIGKILL);
        }
        if (g_noted[SIGCHLD]) {
            g_noted[SIGCHLD] = 0;
            int st = 0;
            pid_t r;
            while ((r = ::waitpid(child, &st, WNOHANG)) < 0 && errno == EINTR) {
            }
            if (r == child) end_as(st);
        }
    }
}

class PosixLauncher : public ProcessLauncher {
  public:
    explicit PosixLauncher(bool guard) : guard_(guard) {}

    Result<int> spawn(const std::vector<std::string>& argv) override {
        if (argv.empty()) return Status::error("spawn: empty command");
        // Everything the child touches is prepared before fork: after it, only
        // async-signal-safe calls.
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        int report[2];
        if (::pipe2(report, O_CLOEXEC) != 0) return base::errno_status("spawn: pipe");
        const pid_t parent = ::getpid();
        const pid_t pid = ::fork();
        if (pid < 0) {
            Status s = base::errno_status("spawn " + argv[0] + ": fork");
            ::close(report[0]);
            ::close(report[1]);
            return s;
        }
        if (pid == 0) {
            ::close(report[0]);
            sigset_t none;
            sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            ::signal(SIGPIPE, SIG_DFL);
            ::prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
            // The child keeps stdin/out/err only: a server's listening and client sockets
            // (Asio does not mark them close-on-exec) must not live on in dnsmasq or a sender.
            if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
                for (int fd = 3; fd < 65536; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
            if (guard_) run_guard(args.data(), report[1]);
            ::execv(args[0], args.data());
            const int err = errno;
            [[maybe_unused]] ssize_t n = ::write(report[1], &err, sizeof err);
            ::_exit(127);
        }
        ::close(report[1]);
        int err = 0;
        ssize_t n;
        while ((n = ::read(report[0], &err, sizeof err)) < 0 && errno == EINTR) {
        }
        ::close(report[0]);
        if (n == static_cast<ssize_t>(sizeof err)) {
            int st;
            while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
            }
            return base::errno_status("exec " + argv[0], err);
        }
        return static_cast<int>(pid);
    }

    std::optional<ExitStatus> try_reap(int pid) override {
        int st = 0;
        pid_t r;
        while ((r = ::waitpid(pid, &st, WNOHANG)) < 0 && errno == EINTR) {
        }
        if (r == 0) return std::nullopt;
        if (r < 0) return ExitStatus{};  // ECHILD: someone else reaped it; it is gone
        return ExitStatus::from_wait_status(st);
    }

    void send_signal(int pid, int sig) override { ::kill(pid, sig); }

  private:
    const bool guard_;
};

}  // namespace

std::unique_ptr<ProcessLauncher> make_posix_launcher() {
    return std::make_unique<PosixLauncher>(false);
}

std::unique_ptr<ProcessLauncher> make_guarded_launcher() {
    return std::make_unique<PosixLauncher>(true);
}

}  // namespace pxe
