// Running a program to completion: qemu-img, cp, an installer, `imaging receive`. One runner
// for every folder. (Long-lived children that are supervised and restarted, such as dnsmasq, are
// pxe::Supervisor's.)
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace base {

struct RunOptions {
    // NAME=value entries added to this process's environment (replacing a variable of that
    // name; of two entries for one name, the later holds).
    std::vector<std::string> environment;
    // 0: none. Otherwise the child leads its own process group, and when it has not finished in
    // time the whole group (its own children too, which may hold the pipes) is killed with
    // SIGKILL and the run is an error.
    std::chrono::milliseconds timeout{0};
    // Bytes kept of each of stdout and stderr: the last ones, so that an error's tail survives
    // a chatty program. Everything is still read (the child never stalls on a full pipe).
    std::size_t capture_limit = std::size_t(16) << 20;
    // Called on the calling thread with each line as it arrives (without its newline or a
    // trailing '\r'; a last line without a newline too). Either may be empty.
    std::function<void(std::string_view)> on_stdout_line;
    std::function<void(std::string_view)> on_stderr_line;
};

struct RunResult {
    int exit_code = 0;  // 0-255, or 128 + the signal that killed it
    std::string out;    // what it wrote to stdout (the last capture_limit bytes)
    std::string err;    // the same for stderr
    bool out_truncated = false;
    bool err_truncated = false;
};

// Starts argv[0] (searched on PATH when it has no '/') with argv, stdin from /dev/null, and
// waits for it to exit and close both pipes. A program that ran and failed is an ok Result with
// a non-zero exit_code. Errors: an empty argv (invalid_argument); no such program (not_found);
// any other failure to start (error, with the reason); the timeout passed ("PROGRAM did not
// finish within N s (killed)"). Thread-safe: posix_spawn, no fork of a threaded process's heap.
Result<RunResult> run_process(const std::vector<std::string>& argv, const RunOptions& options = {});

// For a run that exited non-zero: "COMMAND LINE: exit N: <the last lines of stderr>" with
// newlines as spaces, at most about 1 KiB of stderr, with the given code.
Status exit_error(const std::vector<std::string>& argv, const RunResult& result,
                  Code code = Code::error);

// "qemu-img create -f qcow2 ..." with arguments quoted for a shell where needed: for messages.
std::string command_line(const std::vector<std::string>& argv);

}  // namespace base
