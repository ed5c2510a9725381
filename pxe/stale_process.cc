#include "pxe/stale_process.h"

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

namespace pxe {

namespace {

// The command line, arguments joined by NUL as the kernel gives them; empty when the
// process is gone or a zombie.
std::string cmdline_of(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::ostringstream s;
    if (in) s << in.rdbuf();
    return s.str();
}

bool alive_with(int pid, const std::string& marker) {
    return cmdline_of(pid).find(marker) != std::string::npos;
}

bool wait_gone(int pid, const std::string& marker, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (alive_with(pid, marker)) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

}  // namespace

base::Result<std::optional<int>> end_stale_process(const std::filesystem::path& pid_file,
                                                   const std::string& marker,
                                                   std::chrono::milliseconds timeout) {
    std::ifstream in(pid_file);
    long pid = 0;
    if (!(in >> pid) || pid <= 1 || marker.empty()) return std::optional<int>();
    const int p = static_cast<int>(pid);
    if (!alive_with(p, marker)) return std::optional<int>();
    ::kill(p, SIGTERM);
    if (!wait_gone(p, marker, timeout)) {
        ::kill(p, SIGKILL);
        if (!wait_gone(p, marker, timeout))
            return base::Status::error("stale process " + std::to_string(p) + " from " +
                                       pid_file.string() + " survived SIGKILL");
    }
    return std::optional<int>(p);
}

}  // namespace pxe
