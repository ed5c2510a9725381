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

class PosixLauncher : public ProcessLauncher {
  public:
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
};

}  // namespace

std::unique_ptr<ProcessLauncher> make_posix_launcher() {
    return std::make_unique<PosixLauncher>();
}

}  // namespace pxe
