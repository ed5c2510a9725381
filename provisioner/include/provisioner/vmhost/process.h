// Running an external program (qemu-img, cp) to completion, behind an interface so that tests
// can make it fail. The real one is base::run_process (base/process.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/process.h"
#include "provisioner/status.h"

namespace provisioner::vmhost {

// exit_code (128 + the signal that killed it), out and err (what it wrote).
using ProcessResult = base::RunResult;

class ProcessRunner {
  public:
    virtual ~ProcessRunner() = default;
    // Runs argv[0] (looked up in PATH) with argv, stdin from /dev/null, and waits for it.
    // An error only if it could not be started (not_found if there is no such program);
    // a program that ran and failed is an ok Result with a non-zero exit_code.
    virtual Result<ProcessResult> run(const std::vector<std::string>& argv) = 0;
};

// base::run_process. Thread-safe.
std::unique_ptr<ProcessRunner> make_process_runner();

// "qemu-img create -f qcow2 ..." with arguments quoted where needed, for messages.
using base::command_line;

}  // namespace provisioner::vmhost
