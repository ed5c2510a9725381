#include "provisioner/agent/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>

extern char** environ;

namespace provisioner::agent {
namespace {

using imaging::Result;
using imaging::Status;

// A pipe whose ends close themselves.
struct Pipe {
    int read = -1, write = -1;
    ~Pipe() {
        close_read();
        close_write();
    }
    void close_read() {
        if (read >= 0) ::close(read), read = -1;
    }
    void close_write() {
        if (write >= 0) ::close(write), write = -1;
    }
};

Status open_pipe(Pipe& p) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return imaging::errno_status("pipe");
    p.read = fds[0];
    p.write = fds[1];
    return Status::ok();
}

// Splits what arrives on one pipe into lines.
class LineReader {
  public:
    explicit LineReader(const std::function<void(std::string_view)>& sink) : sink_(sink) {}
    void feed(const char* data, std::size_t n) {
        buffer_.append(data, n);
        std::size_t start = 0;
        for (std::size_t nl; (nl = buffer_.find('\n', start)) != std::string::npos; start = nl + 1)
            emit(std::string_view(buffer_).substr(start, nl - start));
        buffer_.erase(0, start);
    }
    void flush() {
        if (!buffer_.empty()) emit(buffer_);
        buffer_.clear();
    }

  private:
    void emit(std::string_view line) {
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (sink_) sink_(line);
    }
    const std::function<void(std::string_view)>& sink_;
    std::string buffer_;
};

}  // namespace

Result<int> run_child(const std::vector<std::string>& argv, const ChildLines& lines) {
    if (argv.empty()) return Status::error("run_child: no program");
    Pipe out, err;
    if (Status s = open_pipe(out); !s) return s;
    if (Status s = open_pipe(err); !s) return s;

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out.write, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err.write, STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return imaging::errno_status("starting " + argv[0], rc);
    out.close_write();
    err.close_write();

    LineReader out_lines(lines.on_stdout), err_lines(lines.on_stderr);
    std::array<pollfd, 2> fds{pollfd{out.read, POLLIN, 0}, pollfd{err.read, POLLIN, 0}};
    std::array<LineReader*, 2> readers{&out_lines, &err_lines};
    int open_fds = 2;
    char buffer[8192];
    while (open_fds > 0) {
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            if (n > 0) {
                readers[i]->feed(buffer, std::size_t(n));
                continue;
            }
            readers[i]->flush();
            fds[i].fd = -1;  // poll ignores negative descriptors; Pipe closes the real one
            --open_fds;
        }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return imaging::errno_status("waiting for " + argv[0]);
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 255;
}

}  // namespace provisioner::agent
