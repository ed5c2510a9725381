// deployment watch's rendering: bars, host lines, in-place redraw, rates, the non-tty log.
#include <doctest/doctest.h>

#include "deployment_view.h"
#include "progress_view.h"
#include "rate_meter.h"
#include "watch_log.h"

using namespace provisioner::cli;
using nlohmann::json;

namespace {

constexpr std::uint64_t kGiB = 1ULL << 30;

json target(int host, const std::string& name, const std::string& state, std::uint64_t done,
            std::uint64_t total) {
    return {{"host", host},
            {"name", name},
            {"mac", "52:54:00:00:00:0" + std::to_string(host)},
            {"state", state},
            {"transport", "multicast"},
            {"bytes_done", done},
            {"bytes_total", total},
            {"started_at", state == "pending" ? json() : json(1000)},
            {"finished_at", state == "succeeded" || state == "failed" ? json(44100) : json()},
            {"error", state == "failed" ? "disk write error" : ""}};
}

json deployment(const std::string& state, json targets) {
    return {{"id", 3},
            {"image", {{"id", 1}, {"name", "dom0"}, {"version", "2"}}},
            {"transport", "multicast"},
            {"state", state},
            {"targets", std::move(targets)}};
}

}  // namespace

TEST_CASE("cli: progress bar") {
    CHECK(render_bar(0, 10) == "[----------]");
    CHECK(render_bar(0.5, 10) == "[#####-----]");
    CHECK(render_bar(0.99, 10) == "[#########-]");
    CHECK(render_bar(1, 10) == "[##########]");
    CHECK(render_bar(7, 4) == "[####]");
    CHECK(render_bar(-1, 4) == "[----]");
}

TEST_CASE("cli: a host's progress line") {
    TargetProgress p{"h1", "running", kGiB, 2 * kGiB, 12.5 * 1024 * 1024, ""};
    CHECK(render_target_line(p, 4, 10) ==
          "h1    [#####-----]   50%  running    1.0 GiB / 2.0 GiB  12.5 MiB/s");
    p.rate = 0;
    CHECK(render_target_line(p, 2, 10) == "h1  [#####-----]   50%  running    1.0 GiB / 2.0 GiB");

    TargetProgress pending{"h2", "pending", 0, 0, 0, ""};
    CHECK(render_target_line(pending, 2, 10) == "h2  [----------]    0%  pending");

    TargetProgress done{"h3", "succeeded", 0, 0, 0, ""};  // never reported its bytes
    CHECK(render_target_line(done, 2, 10) == "h3  [##########]  100%  succeeded");

    TargetProgress failed{"h4", "failed", kGiB / 4, kGiB, 99, "disk write error"};
    CHECK(render_target_line(failed, 2, 10) ==
          "h4  [##--------]   25%  failed     256.0 MiB / 1.0 GiB  disk write error");
}

TEST_CASE("cli: target_progress reads the API's target") {
    auto p = target_progress(target(1, "h1", "running", kGiB, 2 * kGiB));
    CHECK(p.name == "h1");
    CHECK(p.state == "running");
    CHECK(p.bytes_done == kGiB);
    CHECK(p.bytes_total == 2 * kGiB);
    CHECK(p.error == "");
    json nameless = {{"mac", "52:54:00:00:00:09"}, {"state", "pending"}};
    CHECK(target_progress(nameless).name == "52:54:00:00:00:09");
}

TEST_CASE("cli: redraw moves up over the previous frame and clears what is left") {
    TtyRedraw redraw;
    CHECK(redraw.frame({"a", "b"}) == "\ra\033[K\n\rb\033[K\n");
    CHECK(redraw.frame({"c", "d"}) == "\033[2A\rc\033[K\n\rd\033[K\n");
    CHECK(redraw.frame({"e"}) == "\033[2A\re\033[K\n\033[J");
    CHECK(redraw.frame({"f", "g", "h"}) == "\033[1A\rf\033[K\n\rg\033[K\n\rh\033[K\n");
}

TEST_CASE("cli: lines are cut to the terminal's width") {
    CHECK(fit_to_width("abcdef", 4) == "abcd");
    CHECK(fit_to_width("abcdef", 0) == "abcdef");
    CHECK(fit_to_width("ab", 4) == "ab");
    CHECK(fit_to_width("héllo", 2) == "hé");
}

TEST_CASE("cli: rate meter measures over its window and restarts when bytes go down") {
    using namespace std::chrono;
    RateMeter meter(seconds(5));
    auto t0 = steady_clock::time_point{} + hours(1);
    CHECK(meter.rate("1") == 0);
    meter.sample("1", t0, 0);
    meter.sample("1", t0 + milliseconds(200), 1000);
    CHECK(meter.rate("1") == 0);  // too short to say
    meter.sample("1", t0 + seconds(1), 1000 * 1000);
    CHECK(meter.rate("1") == doctest::Approx(1e6));
    meter.sample("1", t0 + seconds(10), 10 * 1000 * 1000);
    meter.sample("1", t0 + seconds(12), 12 * 1000 * 1000);
    CHECK(meter.rate("1") == doctest::Approx(1e6));
    meter.sample("1", t0 + seconds(13), 0);  // restarted
    CHECK(meter.rate("1") == 0);
    CHECK(meter.rate("2") == 0);
}

TEST_CASE("cli: watch log prints a line per state change and a summary every 5 s") {
    using namespace std::chrono;
    WatchLog log;
    auto t0 = steady_clock::time_point{} + hours(1);
    auto lines = log.update(deployment("running", {target(1, "h1", "pending", 0, 0),
                                                   target(2, "h2", "running", 0, 2 * kGiB)}),
                            t0);
    CHECK(lines == std::vector<std::string>{
                       "deployment 3  dom0@2  multicast  running  2 hosts: 1 running, 1 pending",
                       "h1: pending", "h2: running (multicast)"});

    // Nothing changed and under 5 s: nothing.
    lines = log.update(deployment("running", {target(1, "h1", "pending", 0, 0),
                                              target(2, "h2", "running", kGiB, 2 * kGiB)}),
                       t0 + seconds(2));
    CHECK(lines.empty());

    lines = log.update(deployment("running", {target(1, "h1", "running", 0, 2 * kGiB),
                                              target(2, "h2", "running", kGiB, 2 * kGiB)}),
                       t0 + seconds(5));
    CHECK(lines ==
          std::vector<std::string>{"h1: running (multicast)",
                                   "progress: 1.0 GiB / 4.0 GiB (25%); 2 hosts: 2 running"});

    lines = log.update(deployment("running", {target(1, "h1", "running", kGiB, 2 * kGiB),
                                              target(2, "h2", "succeeded", 2 * kGiB, 2 * kGiB)}),
                       t0 + seconds(9));
    CHECK(lines == std::vector<std::string>{"h2: succeeded, 2.0 GiB in 43.1 s"});

    lines = log.update(deployment("failed", {target(1, "h1", "failed", kGiB, 2 * kGiB),
                                             target(2, "h2", "succeeded", 2 * kGiB, 2 * kGiB)}),
                       t0 + seconds(11));
    CHECK(lines == std::vector<std::string>{"h1: failed: disk write error"});
}

TEST_CASE("cli: the final summary of a watch") {
    auto d = deployment("failed", {target(1, "h1", "succeeded", 2 * kGiB, 2 * kGiB),
                                   target(2, "h22", "failed", kGiB, 2 * kGiB)});
    CHECK(render_final_summary(d) ==
          "HOST  STATE      TRANSPORT  BYTES              SECONDS  ERROR\n"
          "h1    succeeded  multicast  2.0 GiB               43.1  -\n"
          "h22   failed     multicast  1.0 GiB / 2.0 GiB     43.1  disk write error\n"
          "deployment 3 failed: 2 hosts: 1 succeeded, 1 failed\n");
    json with_counts = d;
    with_counts["counts"] = {{"pending", 0}, {"running", 0}, {"succeeded", 5}, {"failed", 0}};
    CHECK(counts_summary(with_counts) == "5 hosts: 5 succeeded");
}
