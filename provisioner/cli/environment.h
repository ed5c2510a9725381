// Everything the CLI touches outside itself: its streams, the network, the clock, the terminal.
// The program uses real_environment(); tests build one with fakes and drive run_cli with it.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>

#include "api_client.h"
#include "base/clock.h"
#include "token.h"

namespace provisioner::cli {

// The CA an https:// server is verified by when neither --ca nor $PROVISIONER_CA says: the one
// `provisionerd init` makes, when readable (on the server itself).
inline constexpr const char* kDefaultCaFile = "/var/lib/provisioner/ca.crt";

struct Environment {
    std::ostream* out = nullptr;
    std::ostream* err = nullptr;
    std::istream* in = nullptr;  // `host import -`
    HttpFunction http;
    bool out_is_tty = false;           // progress bars redrawn in place, or a line per change
    std::size_t terminal_columns = 0;  // 0: unknown (lines are not cut)
    base::Clock* clock = &base::real_clock();  // watch and top wait on it between polls
    std::string default_token_file = kDefaultTokenFile;
    std::string default_ca_file = kDefaultCaFile;
};

// std::cout, std::cerr, std::cin, imaging::http::http_request, base::real_clock(), and isatty
// and TIOCGWINSZ on stdout.
Environment real_environment();

}  // namespace provisioner::cli
