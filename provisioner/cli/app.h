// The provisioner CLI as a function: parse the command line, run the command, return the exit
// status. main() calls it with the real environment; tests call it with fakes.
#pragma once

#include <string>
#include <vector>

#include "environment.h"

namespace provisioner::cli {

// args without the program's name, e.g. {"host", "list", "--json"}.
int run_cli(const std::vector<std::string>& args, const Environment& env);

}  // namespace provisioner::cli
