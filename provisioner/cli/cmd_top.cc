// top: the hosts and their VMs by CPU and memory (top_view.h), redrawn in place on a terminal
// until interrupted; printed once elsewhere, or as JSON with --json.
#include <chrono>
#include <cmath>
#include <memory>

#include "commands.h"
#include "progress_view.h"
#include "top_view.h"

namespace provisioner::cli {
namespace {

struct TopOptions {
    std::string sort = "cpu";
    double interval_seconds = 2;
    int iterations = 0;
};

int top(Session& s, const TopOptions& o) {
    const TopSort sort = o.sort == "memory" ? TopSort::memory
                         : o.sort == "name" ? TopSort::name
                                            : TopSort::cpu;
    const Environment& env = s.env();
    const bool live = env.out_is_tty && !s.json();
    TtyRedraw redraw;
    int transport_failures = 0;
    bool answered = false;
    for (int shown = 0;;) {
        auto latest = s.api().get("/api/v1/metrics/latest");
        auto vms = latest ? s.api().get("/api/v1/vms") : latest;
        if (!latest || !vms) {
            const ApiError& e = !latest ? latest.error() : vms.error();
            // A live view sits out a server restart, as `deployment watch` does.
            if (!live || !answered || e.kind != ApiError::Kind::transport ||
                ++transport_failures > kTransportRetries)
                return s.fail(e);
        } else {
            answered = true;
            transport_failures = 0;
            const auto rows = top_rows(latest.json(), vms.json(), sort);
            if (s.json()) return s.print_json(top_json(rows));
            std::vector<std::string> lines = top_lines(rows);
            if (!live) {
                for (const std::string& line : lines) s.out() << line << "\n";
                return kExitOk;
            }
            std::size_t vm_count = 0;
            for (const TopHost& h : rows) vm_count += h.vms.size();
            const std::size_t columns = env.terminal_columns > 1 ? env.terminal_columns - 1 : 0;
            lines.insert(lines.begin(), "provisioner top: " + std::to_string(rows.size()) +
                                            " hosts, " + std::to_string(vm_count) + " VMs, by " +
                                            o.sort + ", every " +
                                            std::to_string(std::lround(o.interval_seconds)) +
                                            " s (Ctrl-C to stop)");
            for (std::string& line : lines) line = fit_to_width(line, columns);
            s.out() << redraw.frame(lines) << std::flush;
            if (o.iterations > 0 && ++shown >= o.iterations) return kExitOk;
        }
        env.clock->sleep_for(std::chrono::milliseconds(std::llround(o.interval_seconds * 1000)));
    }
}

}  // namespace

void add_top_command(CLI::App& app, Action& chosen) {
    auto o = std::make_shared<TopOptions>();
    auto* cmd = app.add_subcommand(
        "top",
        "The hosts and their VMs by CPU and memory, from their latest reports: on a terminal a "
        "table redrawn in place until Ctrl-C; otherwise printed once (with --json, as JSON)");
    cmd->add_option("--sort", o->sort, "what orders hosts, and each host's VMs")
        ->check(CLI::IsMember({"cpu", "memory", "name"}))
        ->capture_default_str();
    cmd->add_option("--interval", o->interval_seconds, "seconds between refreshes on a terminal")
        ->check(CLI::Range(0.2, 3600.0))
        ->capture_default_str();
    cmd->add_option("-n,--iterations", o->iterations,
                    "on a terminal, stop after this many refreshes (0: until interrupted)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    on_run(cmd, chosen, [o](Session& s) { return top(s, *o); });
}

}  // namespace provisioner::cli
