// host metrics HOST | vm metrics VM: the metrics history of one host or VM (GET
// /api/v1/hosts/{host}/metrics, /api/v1/vms/{vm}/metrics) as graphs on a terminal, as numbers
// elsewhere, as the API's JSON with --json.
#include <memory>

#include "commands.h"
#include "imaging/http/query.h"
#include "metrics_view.h"

namespace provisioner::cli {
namespace {

struct MetricsOptions {
    std::string name;
    std::string since = "1h";
    std::string step;
    std::string match;
};

int show_metrics(Session& s, const std::string& path, const MetricsOptions& o) {
    std::string query = "?since=" + imaging::http::percent_encode(o.since);
    if (!o.step.empty()) query += "&step=" + imaging::http::percent_encode(o.step);
    auto r = s.api().get(path + query);
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    if (s.env().out_is_tty)
        s.out() << render_metrics_graphs(r.json(), s.env().terminal_columns, o.match);
    else
        s.out() << render_metrics_plain(r.json(), o.match);
    return kExitOk;
}

CLI::App* add_metrics(CLI::App* group, const char* what, std::shared_ptr<MetricsOptions> o) {
    const std::string kind = what;
    auto* cmd = group->add_subcommand(
        "metrics", "Show " + kind +
                       "'s metrics history: a graph per series on a terminal (min, max, last), "
                       "else 'SERIES UNIX_TIME VALUE' lines; counters are rates per second");
    cmd->add_option(kind == "a host" ? "HOST" : "VM", o->name,
                    kind == "a host" ? "the host's name, MAC or id" : "the VM's name")
        ->required();
    cmd->add_option("--since", o->since,
                    "how far back: a duration (90s, 15m, 1h, 7d) or a Unix time in seconds")
        ->capture_default_str();
    cmd->add_option(
        "--step", o->step,
        "seconds (or a duration) between points; by default about 240 points, never "
        "finer than the archive read (by default 15 s for the last 24 h, 5 min before)");
    cmd->add_option("--match", o->match, "only the series whose name or labels contain TEXT");
    return cmd;
}

}  // namespace

void add_host_metrics_command(CLI::App* host, Action& chosen) {
    auto o = std::make_shared<MetricsOptions>();
    on_run(add_metrics(host, "a host", o), chosen, [o](Session& s) {
        return show_metrics(s, "/api/v1/hosts/" + path_segment(o->name) + "/metrics", *o);
    });
}

void add_vm_metrics_command(CLI::App* vm, Action& chosen) {
    auto o = std::make_shared<MetricsOptions>();
    on_run(add_metrics(vm, "a VM", o), chosen, [o](Session& s) {
        return show_metrics(s, "/api/v1/vms/" + path_segment(o->name) + "/metrics", *o);
    });
}

}  // namespace provisioner::cli
