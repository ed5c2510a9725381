// provisioner: the operator's CLI. Everything but this entry point is in provisioner_cli_core,
// which the unit tests link too.
#include <string>
#include <vector>

#include "app.h"
#include "environment.h"

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    return provisioner::cli::run_cli(args, provisioner::cli::real_environment());
}
