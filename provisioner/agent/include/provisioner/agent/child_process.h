// Runs a program with its stdout and stderr read line by line: how the agent runs `imaging
// receive`.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "imaging/status.h"

namespace provisioner::agent {

struct ChildLines {
    std::function<void(std::string_view)> on_stdout;  // each line, without its newline
    std::function<void(std::string_view)> on_stderr;
};

// Starts argv[0] (searched on PATH when it has no '/') with stdin from /dev/null, calls the
// callbacks on this thread as lines arrive (a last line without a newline too), and returns
// its exit status once both pipes are closed and it has exited: 0-255, or 128 + the signal
// that killed it. An error only when it could not be started at all.
imaging::Result<int> run_child(const std::vector<std::string>& argv, const ChildLines& lines);

struct ChildOptions {
    // NAME=value entries added to the agent's environment (replacing a variable of that name).
    std::vector<std::string> environment;
    // 0: none. Otherwise the child runs in its own process group, and when it has not finished
    // in time the whole group (an installer's own children too) is killed with SIGKILL.
    std::chrono::milliseconds timeout{0};
};

// As above, with options. A timeout is an error: "PROGRAM did not finish within N s".
imaging::Result<int> run_child(const std::vector<std::string>& argv, const ChildLines& lines,
                               const ChildOptions& options);

}  // namespace provisioner::agent
