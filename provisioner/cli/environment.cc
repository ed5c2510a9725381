#include "environment.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <iostream>

namespace provisioner::cli {

Environment real_environment() {
    Environment env;
    env.out = &std::cout;
    env.err = &std::cerr;
    env.in = &std::cin;
    env.http = imaging::http::http_request;
    env.out_is_tty = ::isatty(STDOUT_FILENO) == 1;
    winsize size{};
    if (env.out_is_tty && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0) {
        env.terminal_columns = size.ws_col;
    }
    return env;
}

}  // namespace provisioner::cli
