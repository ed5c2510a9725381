// Running an external program (qemu-img) to completion, behind an interface so that tests
// can make it fail.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "provisioner/status.h"

namespace provisioner::vmhost {

struct ProcessResult {
    int exit_code = 0;  // 128 + signal number if it was killed by a signal
    std::string out;    // everything it wrote to stdout
    std::string err;    // everything it wrote to stderr
};

class ProcessRunner {
  public:
    virtual ~ProcessRunner() = default;
    // Runs argv[0] (looked up in PATH) with argv, stdin from /dev/null, and waits for it.
    // An error only if it could not be started (not_found if there is no such program);
    // a program that ran and failed is an ok Result with a non-zero exit_code.
    virtual Result<ProcessResult> run(const std::vector<std::string>& argv) = 0;
};

// fork + execvp; stdout and stderr are captured through pipes. Thread-safe.
std::unique_ptr<ProcessRunner> make_process_runner();

// "qemu-img create -f qcow2 ..." with arguments quoted where needed, for messages.
std::string command_line(const std::vector<std::string>& argv);

}  // namespace provisioner::vmhost
