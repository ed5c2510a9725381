#include "base/process.h"

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
#include <cstring>

extern char** environ;

namespace base {
namespace {

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
    if (::pipe2(fds, O_CLOEXEC) != 0) return errno_status("pipe");
    p.read = fds[0];
    p.write = fds[1];
    return Status::ok();
}

// One output stream: split into lines for a callback, and its tail kept within a limit.
class Stream {
  public:
    Stream(const std::function<void(std::string_view)>& sink, std::string& captured,
           bool& truncated, std::size_t limit)
        : sink_(sink), captured_(captured), truncated_(truncated), limit_(limit) {}

    void feed(const char* data, std::size_t n) {
        capture(data, n);
        if (!sink_) return;
        partial_.append(data, n);
        std::size_t start = 0;
        for (std::size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1)
            emit(std::string_view(partial_).substr(start, nl - start));
        partial_.erase(0, start);
    }
    void flush() {
        if (!partial_.empty()) emit(partial_);
        partial_.clear();
        trim();
    }

  private:
    void capture(const char* data, std::size_t n) {
        captured_.append(data, n);
        // Trimmed in batches, not at every read: amortized linear.
        if (captured_.size() > 2 * limit_ + 65536) trim();
    }
    void trim() {
        if (captured_.size() <= limit_) return;
        captured_.erase(0, captured_.size() - limit_);
        truncated_ = true;
    }
    void emit(std::string_view line) {
        if (line.ends_with('\r')) line.remove_suffix(1);
        sink_(line);
    }
    const std::function<void(std::string_view)>& sink_;
    std::string& captured_;
    bool& truncated_;
    const std::size_t limit_;
    std::string partial_;
};

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

// "30", "0.3", "1.25": seconds as people write them.
std::string seconds_text(std::chrono::milliseconds d) {
    std::string text = std::to_string(d.count() / 1000);
    if (const auto ms = d.count() % 1000; ms != 0) {
        std::string fraction = std::to_string(1000 + ms).substr(1);
        while (fraction.back() == '0') fraction.pop_back();
        text += "." + fraction;
    }
    return text;
}

int exit_code_of(int wait_status) {
    if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
    if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
    return 255;
}

}  // namespace

Result<RunResult> run_process(const std::vector<std::string>& argv, const RunOptions& options) {
    if (argv.empty() || argv[0].empty())
        return Status::error(Code::invalid_argument, "running a program: empty command line");
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
    const bool timed = options.timeout.count() > 0;
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    // The child gets default signal dispositions and an empty mask whatever this process
    // blocks or ignores (a server blocking SIGTERM for sigtimedwait, SIGPIPE ignored).
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setsigmask(&attributes, &none);
    short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    if (timed) flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setflags(&attributes, flags);
    if (timed) posix_spawnattr_setpgroup(&attributes, 0);
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(),
                                  env.empty() ? environ : env.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (rc != 0)
        return Status::error(rc == ENOENT ? Code::not_found : Code::error,
                             "cannot run " + argv[0] + ": " + std::strerror(rc));
    const auto deadline = std::chrono::steady_clock::now() + options.timeout;
    out.close_write();
    err.close_write();

    RunResult result;
    Stream out_stream(options.on_stdout_line, result.out, result.out_truncated,
                      options.capture_limit);
    Stream err_stream(options.on_stderr_line, result.err, result.err_truncated,
                      options.capture_limit);
    std::array<pollfd, 2> fds{pollfd{out.read, POLLIN, 0}, pollfd{err.read, POLLIN, 0}};
    std::array<Stream*, 2> streams{&out_stream, &err_stream};
    int open_fds = 2;
    bool timed_out = false;
    char buffer[65536];
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
            const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            if (n > 0) {
                streams[i]->feed(buffer, std::size_t(n));
                continue;
            }
            fds[i].fd = -1;  // poll ignores negative descriptors; Pipe closes the real one
            --open_fds;
        }
    }
    out_stream.flush();
    err_stream.flush();
    int status = 0;
    bool reaped = false;
    while (timed && !timed_out && !reaped) {
        // Both pipes are closed, yet the child may run on with its output closed: wait for it
        // within the deadline too.
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            reaped = true;
        } else if (done < 0 && errno != EINTR) {
            return errno_status("waiting for " + argv[0]);
        } else if (std::chrono::steady_clock::now() >= deadline) {
            timed_out = true;
            ::kill(-pid, SIGKILL);
        } else {
            ::usleep(20'000);
        }
    }
    while (!reaped && ::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return errno_status("waiting for " + argv[0]);
    }
    if (timed_out)
        return Status::error(argv[0] + " did not finish within " + seconds_text(options.timeout) +
                             " s (killed)");
    result.exit_code = exit_code_of(status);
    return result;
}

Status exit_error(const std::vector<std::string>& argv, const RunResult& result, Code code) {
    constexpr std::size_t kTail = 1024;
    std::string_view err = result.err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ' || err.back() == '\r'))
        err.remove_suffix(1);
    if (err.size() > kTail) {
        err.remove_prefix(err.size() - kTail);
        // From the start of a line when one begins within the tail.
        if (auto nl = err.find('\n'); nl != std::string_view::npos && nl + 1 < err.size())
            err.remove_prefix(nl + 1);
    }
    std::string tail(err);
    for (char& c : tail)
        if (c == '\n') c = ' ';
    return Status::error(code, command_line(argv) + ": exit " + std::to_string(result.exit_code) +
                                   (tail.empty() ? "" : ": " + tail));
}

std::string command_line(const std::vector<std::string>& argv) {
    std::string line;
    for (const auto& a : argv) {
        if (!line.empty()) line += ' ';
        const bool plain =
            !a.empty() && a.find_first_of(" \t\n'\"\\$`*?;&|<>()") == std::string::npos;
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

}  // namespace base
