#include "provisioner/vmhost/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace provisioner::vmhost {

namespace {

class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        reset();
        fd_ = std::exchange(o.fd_, -1);
        return *this;
    }
    ~Fd() { reset(); }
    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

  private:
    int fd_ = -1;
};

struct Pipe {
    Fd read, write;
};

Result<Pipe> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        return Status::error(Code::storage, std::string("pipe: ") + std::strerror(errno));
    return Pipe{Fd(fds[0]), Fd(fds[1])};
}

// Reads both pipes until both reach end of file, so that neither can fill up and stall the
// child.
void drain(int out_fd, int err_fd, std::string& out, std::string& err) {
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    std::string* sinks[2] = {&out, &err};
    int open = 2;
    char buf[65536];
    while (open > 0) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                sinks[i]->append(buf, std::size_t(n));
            } else if (n == 0 || errno != EINTR) {
                fds[i].fd = -1;
                --open;
            }
        }
    }
}

class RealProcessRunner final : public ProcessRunner {
  public:
    Result<ProcessResult> run(const std::vector<std::string>& argv) override {
        if (argv.empty()) return Status::error(Code::invalid_argument, "empty command line");
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);

        auto out = make_pipe();
        auto err = make_pipe();
        auto exec_status = make_pipe();  // the child writes errno here if execvp fails
        if (!out) return out.status();
        if (!err) return err.status();
        if (!exec_status) return exec_status.status();

        pid_t pid = ::fork();
        if (pid < 0)
            return Status::error(Code::storage,
                                 "fork for " + argv[0] + ": " + std::strerror(errno));
        if (pid == 0) {
            // Only async-signal-safe calls from here on.
            int null = ::open("/dev/null", O_RDONLY);
            if (null >= 0) ::dup2(null, 0);
            ::dup2(out->write.get(), 1);
            ::dup2(err->write.get(), 2);
            ::execvp(args[0], args.data());
            int e = errno;
            ssize_t ignored = ::write(exec_status->write.get(), &e, sizeof e);
            (void)ignored;
            ::_exit(127);
        }
        out->write.reset();
        err->write.reset();
        exec_status->write.reset();

        ProcessResult result;
        drain(out->read.get(), err->read.get(), result.out, result.err);
        int exec_errno = 0;
        ssize_t got = ::read(exec_status->read.get(), &exec_errno, sizeof exec_errno);
        int wstatus = 0;
        while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
        }
        if (got == ssize_t(sizeof exec_errno)) {
            return Status::error(exec_errno == ENOENT ? Code::not_found : Code::storage,
                                 "cannot run " + argv[0] + ": " + std::strerror(exec_errno));
        }
        result.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
        return result;
    }
};

}  // namespace

std::unique_ptr<ProcessRunner> make_process_runner() {
    return std::make_unique<RealProcessRunner>();
}

std::string command_line(const std::vector<std::string>& argv) {
    std::string line;
    for (const auto& a : argv) {
        if (!line.empty()) line += ' ';
        bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`*?;&|<>()") == std::string::npos;
        if (plain) {
            line += a;
            continue;
        }
        line += '\'';
        for (char c : a) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
        line += '\'';
    }
    return line;
}

}  // namespace provisioner::vmhost
