#include "provisioner/agent/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>

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

// The agent's environment with `overrides` (NAME=value) replacing or adding variables; of two
// overrides of one name, the later holds.
std::vector<std::string> merged_environment(const std::vector<std::string>& overrides) {
    auto name_of = [](std::string_view entry) { return entry.substr(0, entry.find('=')); };
    std::vector<std::string> merged;
    for (char** e = environ; e && *e; ++e) merged.emplace_back(*e);
    for (const std::string& o : overrides) {
        std::erase_if(merged, [&](const std::string& m) { return name_of(m) == name_of(o); });
        merged.push_back(o);
    }
    return merged;
}

}  // namespace

Result<int> run_child(const std::vector<std::string>& argv, const ChildLines& lines) {
    return run_child(argv, lines, ChildOptions{});
}

Result<int> run_child(const std::vector<std::string>& argv, const ChildLines& lines,
                      const ChildOptions& options) {
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
    std::vector<std::string> env_entries;
    std::vector<char*> env;
    if (!options.environment.empty()) {
        env_entries = merged_environment(options.environment);
        for (auto& e : env_entries) env.push_back(e.data());
        env.push_back(nullptr);
    }
    // With a timeout the child leads its own process group, so that killing the group reaches
    // whatever it started (apt-get's dpkg and maintainer scripts), which may hold the pipes.
    const bool timed = options.timeout.count() > 0;
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    if (timed) {
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
        posix_spawnattr_setpgroup(&attributes, 0);
    }
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(),
                            env.empty() ? environ : env.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (rc != 0) return imaging::errno_status("starting " + argv[0], rc);
    const auto deadline = std::chrono::steady_clock::now() + options.timeout;
    out.close_write();
    err.close_write();

    LineReader out_lines(lines.on_stdout), err_lines(lines.on_stderr);
    std::array<pollfd, 2> fds{pollfd{out.read, POLLIN, 0}, pollfd{err.read, POLLIN, 0}};
    std::array<LineReader*, 2> readers{&out_lines, &err_lines};
    int open_fds = 2;
    bool timed_out = false;
    char buffer[8192];
    while (open_fds > 0) {
        int wait_ms = -1;
        if (timed) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                timed_out = true;
                ::kill(-pid, SIGKILL);
                break;  // the pipes close with Pipe; nothing more is read
            }
            wait_ms = int(std::min<std::int64_t>(left.count(), 1'000));
        }
        if (::poll(fds.data(), fds.size(), wait_ms) < 0) {
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
    bool reaped = false;
    while (timed && !timed_out && !reaped) {
        // Both pipes are closed, yet the child may run on with its output closed: wait for it
        // within the deadline too.
        pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            reaped = true;
        } else if (done < 0 && errno != EINTR) {
            return imaging::errno_status("waiting for " + argv[0]);
        } else if (std::chrono::steady_clock::now() >= deadline) {
            timed_out = true;
            ::kill(-pid, SIGKILL);
        } else {
            ::usleep(20'000);
        }
    }
    while (!reaped && ::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return imaging::errno_status("waiting for " + argv[0]);
    }
    if (timed_out) {
        auto seconds = std::chrono::duration_cast<std::chrono::seconds>(options.timeout).count();
        return Status::error(argv[0] + " did not finish within " + std::to_string(seconds) +
                             " s (killed)");
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 255;
}

}  // namespace provisioner::agent
