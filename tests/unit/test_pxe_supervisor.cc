// pxe: Supervisor restart, backoff and stop, driven by a fake launcher and a fake clock, so no
// process runs and nothing sleeps.
#include <doctest/doctest.h>

#include <csignal>
#include <map>

#include "base/clock.h"
#include "pxe/supervisor.h"

using namespace pxe;
using std::chrono::milliseconds;

namespace {

// Children are entries in a map; tests end them with die() or by signals.
class FakePxeLauncher : public ProcessLauncher {
  public:
    struct Child {
        std::optional<ExitStatus> ended;
        bool reaped = false;
        std::vector<int> signals;
    };

    base::Result<int> spawn(const std::vector<std::string>& argv) override {
        last_argv = argv;
        if (fail_spawns > 0) {
            --fail_spawns;
            return base::Status::error("exec /usr/sbin/dnsmasq: No such file or directory");
        }
        const int pid = next_pid++;
        children[pid] = Child{};
        return pid;
    }

    std::optional<ExitStatus> try_reap(int pid) override {
        Child& c = children.at(pid);
        REQUIRE_FALSE(c.reaped);  // a pid is reaped once
        if (!c.ended) return std::nullopt;
        c.reaped = true;
        return c.ended;
    }

    void send_signal(int pid, int sig) override {
        Child& c = children.at(pid);
        c.signals.push_back(sig);
        if (sig == SIGKILL || (sig == SIGTERM && !ignore_sigterm))
            if (!c.ended) c.ended = ExitStatus::signaled(sig);
    }

    void die(int pid, ExitStatus status) { children.at(pid).ended = status; }
    int running() const {
        int n = 0;
        for (const auto& [pid, c] : children) n += !c.ended;
        return n;
    }

    std::map<int, Child> children;
    std::vector<std::string> last_argv;
    int next_pid = 100;
    int fail_spawns = 0;
    bool ignore_sigterm = false;
};

struct Fixture {
    base::FakeClock clock;
    FakePxeLauncher launcher;
    std::vector<std::string> log;

    SupervisorOptions options() {
        SupervisorOptions o;
        o.argv = {"/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/s/dnsmasq.conf"};
        o.initial_backoff = milliseconds(500);
        o.max_backoff = milliseconds(4000);
        o.stable_after = milliseconds(10000);
        o.stop_timeout = milliseconds(2000);
        o.log = [this](const std::string& line) { log.push_back(line); };
        return o;
    }
};

}  // namespace

TEST_CASE("pxe: the supervisor restarts a dead child after its backoff and logs why") {
    Fixture f;
    Supervisor sup(f.options(), f.launcher, f.clock);
    REQUIRE(sup.start());
    CHECK(f.launcher.last_argv[2] == "--conf-file=/s/dnsmasq.conf");
    CHECK(sup.pid() == 100);
    sup.poll();  // nothing happened
    CHECK(sup.pid() == 100);
    CHECK_FALSE(sup.next_wakeup());

    f.clock.advance(milliseconds(3000));
    f.launcher.die(100, ExitStatus::signaled(SIGKILL));
    sup.poll();
    CHECK_FALSE(sup.pid());
    REQUIRE(sup.next_wakeup());
    CHECK(*sup.next_wakeup() == f.clock.now() + milliseconds(500));
    f.clock.advance(milliseconds(499));
    sup.poll();
    CHECK(f.launcher.running() == 0);  // not before the backoff
    f.clock.advance(milliseconds(1));
    sup.poll();
    CHECK(sup.pid() == 101);
    CHECK(sup.restarts() == 1);
    CHECK(f.log ==
          std::vector<std::string>{
              "dnsmasq: started, pid 100",
              "dnsmasq: pid 100 killed by signal 9 (SIGKILL) after 3.0s; restart 1 in 0.5s",
              "dnsmasq: restart 1, pid 101",
          });
}

TEST_CASE("pxe: quick deaths double the backoff up to the cap; a stable run resets it") {
    Fixture f;
    Supervisor sup(f.options(), f.launcher, f.clock);
    REQUIRE(sup.start());
    std::vector<milliseconds> delays;
    for (int i = 0; i < 6; ++i) {  // dies 100 ms after each start
        f.clock.advance(milliseconds(100));
        f.launcher.die(*sup.pid(), ExitStatus::exited(1));
        sup.poll();
        REQUIRE(sup.next_wakeup());
        delays.push_back(
            std::chrono::duration_cast<milliseconds>(*sup.next_wakeup() - f.clock.now()));
        f.clock.advance(delays.back());
        sup.poll();
        REQUIRE(sup.pid());
    }
    CHECK(delays == std::vector<milliseconds>{milliseconds(500), milliseconds(1000),
                                              milliseconds(2000), milliseconds(4000),
                                              milliseconds(4000), milliseconds(4000)});
    CHECK(f.log[1] == "dnsmasq: pid 100 exited with status 1 after 0.1s; restart 1 in 0.5s");

    f.clock.advance(milliseconds(10000));  // healthy for stable_after
    f.launcher.die(*sup.pid(), ExitStatus::exited(2));
    sup.poll();
    CHECK(*sup.next_wakeup() - f.clock.now() == milliseconds(500));
}

TEST_CASE("pxe: a restart that cannot exec is retried with backoff; the first start fails") {
    Fixture f;
    {
        Supervisor sup(f.options(), f.launcher, f.clock);
        f.launcher.fail_spawns = 1;
        auto s = sup.start();
        CHECK(s.message() == "start dnsmasq: exec /usr/sbin/dnsmasq: No such file or directory");
        CHECK_FALSE(sup.pid());
    }
    Supervisor sup(f.options(), f.launcher, f.clock);
    REQUIRE(sup.start());
    f.launcher.die(100, ExitStatus::exited(0));
    f.launcher.fail_spawns = 2;
    sup.poll();
    f.clock.advance(milliseconds(500));
    sup.poll();  // fails
    CHECK(f.log.back() ==
          "dnsmasq: restart 1 failed: exec /usr/sbin/dnsmasq: No such file or directory; next "
          "try in 1.0s");
    f.clock.advance(milliseconds(1000));
    sup.poll();  // fails
    f.clock.advance(milliseconds(2000));
    sup.poll();
    CHECK(sup.pid() == 101);
    CHECK(sup.restarts() == 3);
}

TEST_CASE("pxe: stop sends SIGTERM and waits; SIGKILL when the child ignores it") {
    Fixture f;
    Supervisor sup(f.options(), f.launcher, f.clock);
    REQUIRE(sup.start());
    REQUIRE(sup.signal(SIGHUP));  // reload: forwarded, the child lives on
    sup.stop();
    CHECK(f.launcher.children[100].signals == std::vector<int>{SIGHUP, SIGTERM});
    CHECK(f.log.back() == "dnsmasq: stopped, pid 100 killed by signal 15 (SIGTERM)");
    CHECK(sup.stopped());
    CHECK_FALSE(sup.signal(SIGHUP));

    Fixture g;
    g.launcher.ignore_sigterm = true;
    const auto t0 = g.clock.now();
    {
        Supervisor stubborn(g.options(), g.launcher, g.clock);
        REQUIRE(stubborn.start());
    }  // destruction stops it
    CHECK(g.launcher.children[100].signals == std::vector<int>{SIGTERM, SIGKILL});
    CHECK(g.clock.now() - t0 >= milliseconds(2000));
    CHECK(g.clock.now() - t0 < milliseconds(2100));
    CHECK(g.log[1] == "dnsmasq: pid 100 ignored SIGTERM for 2.0s; sending SIGKILL");
    CHECK(g.log[2] == "dnsmasq: stopped, pid 100 killed by signal 9 (SIGKILL)");
    CHECK(g.launcher.running() == 0);
}

TEST_CASE("pxe: no restart after stop, and a child dead at stop time is just reaped") {
    Fixture f;
    Supervisor sup(f.options(), f.launcher, f.clock);
    REQUIRE(sup.start());
    f.launcher.die(100, ExitStatus::exited(3));
    sup.stop();
    CHECK(f.log.back() == "dnsmasq: stopped, pid 100 exited with status 3");
    f.clock.advance(milliseconds(60000));
    sup.poll();
    CHECK(f.launcher.children.size() == 1);
    CHECK_FALSE(sup.next_wakeup());
}

TEST_CASE("pxe: terminate never waits; poll reaps, with SIGKILL past the timeout") {
    Fixture f;
    f.launcher.ignore_sigterm = true;
    Supervisor sup(f.options(), f.launcher, f.clock);
    REQUIRE(sup.start());
    const auto t0 = f.clock.now();
    sup.terminate();
    CHECK(f.clock.now() == t0);  // did not sleep
    CHECK(f.launcher.children[100].signals == std::vector<int>{SIGTERM});
    CHECK_FALSE(sup.stopped());
    REQUIRE(sup.next_wakeup());
    CHECK(*sup.next_wakeup() == t0 + milliseconds(2000));
    f.clock.advance(milliseconds(1999));
    sup.poll();
    CHECK(f.launcher.children[100].signals == std::vector<int>{SIGTERM});
    f.clock.advance(milliseconds(1));
    sup.poll();
    CHECK(f.launcher.children[100].signals == std::vector<int>{SIGTERM, SIGKILL});
    sup.poll();
    CHECK(sup.stopped());
    CHECK(f.log.back() == "dnsmasq: stopped, pid 100 killed by signal 9 (SIGKILL)");
    f.clock.advance(milliseconds(60000));
    sup.poll();
    CHECK(f.launcher.children.size() == 1);  // never restarted
}

TEST_CASE("pxe: quick deaths are counted in a row; a clean exit or a stable run clears them") {
    Fixture f;
    Supervisor sup(f.options(), f.launcher, f.clock);
    REQUIRE(sup.start());
    for (int i = 1; i <= 3; ++i) {
        f.clock.advance(milliseconds(100));
        f.launcher.die(*sup.pid(), ExitStatus::exited(2));
        sup.poll();
        CHECK(sup.quick_deaths() == i);
        CHECK(sup.last_exit() == "exited with status 2");
        f.clock.advance(*sup.next_wakeup() - f.clock.now());
        sup.poll();
        REQUIRE(sup.pid());
    }
    f.launcher.die(*sup.pid(), ExitStatus::exited(0));  // done, not failed
    sup.poll();
    CHECK(sup.quick_deaths() == 0);
    f.clock.advance(*sup.next_wakeup() - f.clock.now());
    sup.poll();
    f.launcher.die(*sup.pid(), ExitStatus::signaled(SIGSEGV));
    sup.poll();
    CHECK(sup.quick_deaths() == 1);
    f.clock.advance(*sup.next_wakeup() - f.clock.now());
    sup.poll();
    f.clock.advance(milliseconds(10000));
    sup.poll();  // alive for stable_after
    CHECK(sup.quick_deaths() == 0);
}

TEST_CASE("pxe: a job runs once and keeps its exit status") {
    Fixture f;
    SupervisorOptions o = f.options();
    o.name = "torrent";
    o.restart = false;
    Supervisor job(o, f.launcher, f.clock);
    REQUIRE(job.start());
    job.poll();
    CHECK_FALSE(job.exit_status());
    f.launcher.die(100, ExitStatus::exited(1));
    job.poll();
    REQUIRE(job.exit_status());
    CHECK(*job.exit_status() == ExitStatus::exited(1));
    CHECK(job.stopped());
    f.clock.advance(milliseconds(60000));
    job.poll();
    CHECK(f.launcher.children.size() == 1);
    CHECK(f.log.back() == "torrent: pid 100 exited with status 1 after 0.0s");
}

TEST_CASE("pxe: with retry_failed_start, a first start that cannot exec is retried") {
    Fixture f;
    SupervisorOptions o = f.options();
    o.retry_failed_start = true;
    Supervisor sup(o, f.launcher, f.clock);
    f.launcher.fail_spawns = 1;
    auto s = sup.start();
    CHECK_FALSE(s);
    CHECK(sup.quick_deaths() == 1);
    CHECK(sup.last_exit() == "exec /usr/sbin/dnsmasq: No such file or directory");
    CHECK(f.log.back() ==
          "start dnsmasq: exec /usr/sbin/dnsmasq: No such file or directory; next "
          "try in 0.5s");
    f.clock.advance(milliseconds(500));
    sup.poll();
    CHECK(sup.pid() == 100);
    sup.set_argv({"/usr/sbin/dnsmasq", "--other"});
    f.launcher.die(100, ExitStatus::exited(1));
    sup.poll();
    f.clock.advance(milliseconds(1000));
    sup.poll();
    CHECK(f.launcher.last_argv == std::vector<std::string>{"/usr/sbin/dnsmasq", "--other"});
}

TEST_CASE("pxe: exit statuses read as a person would say them") {
    CHECK(ExitStatus::exited(0).describe() == "exited with status 0");
    CHECK(ExitStatus::signaled(SIGSEGV).describe() == "killed by signal 11 (SIGSEGV)");
    CHECK(ExitStatus{}.describe() == "ended (status unknown)");
}
