// pxe: the guarded launcher (process.h) with real processes: it runs, reaps and signals like
// the plain one, and a child that changes user, which clears its parent-death signal, still
// ends with the thread that started it (as dnsmasq must end with a provisionerd killed -9),
// where the plain launcher leaves it running.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "pxe/process.h"

using namespace pxe;
using namespace std::chrono_literals;

namespace {

std::optional<ExitStatus> reap_within(ProcessLauncher& launcher, int pid,
                                      std::chrono::milliseconds limit) {
    std::optional<ExitStatus> status;
    for (auto waited = 0ms; waited < limit && !status; waited += 10ms) {
        status = launcher.try_reap(pid);
        if (!status) std::this_thread::sleep_for(10ms);
    }
    return status;
}

// The pid of pid's one child, once it has one (the guard's: the program it runs).
int child_of(int pid) {
    for (int i = 0; i < 300; ++i) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) +
                         "/children");
        int child = 0;
        if (in >> child) return child;
        std::this_thread::sleep_for(10ms);
    }
    return 0;
}

bool alive(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string skip, state;
    in >> skip >> skip >> state;
    return in && state != "Z";  // a zombie has ended
}

bool ends_within(int pid, std::chrono::milliseconds limit) {
    for (auto waited = 0ms; waited < limit; waited += 10ms) {
        if (!alive(pid)) return true;
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

// A sleeper that drops to user nobody first, as dnsmasq does.
const std::vector<std::string> kDropsUser = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                             "--clear-groups", "/bin/sleep", "30"};

}  // namespace

TEST_CASE("pxe guard: runs, reaps and passes signals on like the plain launcher") {
    auto launcher = make_guarded_launcher();
    auto pid = launcher->spawn({"/bin/sh", "-c", "exit 7"});
    REQUIRE_MESSAGE(pid, pid.status().message());
    CHECK(reap_within(*launcher, *pid, 5s) == ExitStatus::exited(7));

    auto sleeper = launcher->spawn({"/bin/sh", "-c", "trap 'exit 3' HUP; sleep 30 & wait"});
    REQUIRE(sleeper);
    const int shell = child_of(*sleeper);
    REQUIRE(shell > 0);
    CHECK_FALSE(launcher->try_reap(*sleeper));
    std::this_thread::sleep_for(100ms);  // the shell's trap is set
    launcher->send_signal(*sleeper, SIGHUP);  // dnsmasq's "read your files again"
    CHECK(reap_within(*launcher, *sleeper, 5s) == ExitStatus::exited(3));

    auto stopped = launcher->spawn({"/bin/sleep", "30"});
    REQUIRE(stopped);
    const int sleep_pid = child_of(*stopped);
    REQUIRE(sleep_pid > 0);
    launcher->send_signal(*stopped, SIGTERM);
    CHECK(reap_within(*launcher, *stopped, 5s) == ExitStatus::signaled(SIGTERM));
    CHECK_FALSE(alive(sleep_pid));

    auto missing = launcher->spawn({"/nonexistent/dnsmasq"});
    CHECK(missing.status().message() == "exec /nonexistent/dnsmasq: No such file or directory");
}

TEST_CASE("pxe guard: a child that changed user ends with the thread that started it") {
    // Root to change user, and util-linux's setpriv (scripts/setup installs it): the suite
    // runs as root, and a missing piece fails here rather than passing unchecked.
    REQUIRE_MESSAGE(::geteuid() == 0, "needs root to change user");
    REQUIRE_MESSAGE(::access(kDropsUser[0].c_str(), X_OK) == 0, "/usr/bin/setpriv is missing");
    // The parent-death signal follows the thread that forked: a thread of its own stands for
    // a provisionerd that dies.
    // Returns the spawned pid and its first child's (the guard's program; 0 without a guard).
    auto start_and_end_thread = [](ProcessLauncher& launcher, bool guarded) {
        std::pair<int, int> pids{0, 0};
        std::string error;
        std::thread([&] {
            auto spawned = launcher.spawn(kDropsUser);
            if (!spawned) {
                error = spawned.status().message();
                return;
            }
            pids.first = *spawned;
            if (guarded) pids.second = child_of(*spawned);
            std::this_thread::sleep_for(200ms);  // setpriv has changed user and run sleep
        }).join();
        CHECK_MESSAGE(error.empty(), error);
        return pids;
    };

    // Without a guard the sleeper outlives its parent: the failure the guard is for.
    auto plain = make_posix_launcher();
    const int orphan = start_and_end_thread(*plain, false).first;
    REQUIRE(orphan > 0);
    CHECK_FALSE(ends_within(orphan, 500ms));
    ::kill(orphan, SIGKILL);
    reap_within(*plain, orphan, 5s);

    auto guarded = make_guarded_launcher();
    const auto [guard, sleeper] = start_and_end_thread(*guarded, true);
    REQUIRE(guard > 0);
    REQUIRE(sleeper > 0);
    CHECK(ends_within(sleeper, 5s));
    CHECK(reap_within(*guarded, guard, 5s) == ExitStatus::signaled(SIGTERM));
}
