#include "multicast_options.h"

#include <signal.h>

#include <cstdlib>

namespace imaging::tool {
namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) {
    g_stop = true;
}

}  // namespace

std::optional<double> parse_bits_per_second(const std::string& text) {
    if (text.empty()) return std::nullopt;
    char* end = nullptr;
    double value = std::strtod(text.c_str(), &end);
    std::string suffix(end);
    double scale = 1;
    if (suffix == "k" || suffix == "K")
        scale = 1e3;
    else if (suffix == "m" || suffix == "M")
        scale = 1e6;
    else if (suffix == "g" || suffix == "G")
        scale = 1e9;
    else if (!suffix.empty())
        return std::nullopt;
    if (!(value > 0)) return std::nullopt;
    return value * scale;
}

const std::atomic<bool>& stop_on_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    return g_stop;
}

}  // namespace imaging::tool
