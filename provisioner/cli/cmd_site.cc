// site diff | apply | status: a site file planned against what the Dom0 agents report, and
// applied through provisionerd's action queue (provisioner/API.md, "Site and VMs").
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include "commands.h"
#include "output/format.h"
#include "output/table.h"

namespace provisioner::cli {
namespace {

struct SiteOptions {
    std::string file;
    std::string algorithm;
    bool dry_run = false;
};

// The file's text ("-" is stdin), or nothing when it cannot be read.
std::optional<std::string> read_site(Session& s, const std::string& file) {
    std::ostringstream text;
    if (file == "-") {
        text << s.env().in->rdbuf();
        return text.str();
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    text << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return text.str();
}

// A refused plan: the site file's problems as FILE:LINE: message, then one error line.
int plan_failed(Session& s, const SiteOptions& o, ApiError error) {
    const auto& beside = field(error.body, "lines");
    const auto& lines = beside.is_array() ? beside : field(field(error.body, "error"), "lines");
    if (lines.is_array() && !lines.empty()) {
        std::string label = o.file == "-" ? "<stdin>" : o.file;
        for (const auto& line : lines)
            s.err() << label << ":" << text(field(line, "line")) << ": "
                    << text(field(line, "message")) << "\n";
        error.message = label + " has " + std::to_string(lines.size()) +
                        (lines.size() == 1 ? " problem" : " problems");
    }
    if (error.kind == ApiError::Kind::http && error.message.find("nothing") == std::string::npos)
        error.message += "; nothing was applied";
    return s.fail(error);
}

// "services updated for 2 VMs: svc1, svc2" (applied) or "services change for ..." (a diff);
// a long list ends in "and N more".
std::string services_line(const nlohmann::json& vms, bool applied) {
    constexpr std::size_t kNamesShown = 8;
    std::string line = std::string(applied ? "services updated for " : "services change for ") +
                       std::to_string(vms.size()) + (vms.size() == 1 ? " VM: " : " VMs: ");
    for (std::size_t i = 0; i < vms.size() && i < kNamesShown; ++i)
        line += (i ? ", " : "") + text(vms[i]);
    if (vms.size() > kNamesShown)
        line += " and " + std::to_string(vms.size() - kNamesShown) + " more";
    return line;
}

// "network services switched:" (applied) or "network services to switch:" (a diff), then
// one line per service: "  web1: on compress to 10.2.0.0/24 via 10.77.0.12".
void print_netservices(Session& s, const nlohmann::json& lines, bool applied) {
    s.out() << (applied ? "network services switched:\n" : "network services to switch:\n");
    for (const auto& line : lines) s.out() << "  " << text(line) << "\n";
}

void print_plan(Session& s, const nlohmann::json& answer, bool applied) {
    const auto& plan = field(answer, "plan");
    const auto& services = field(answer, "services_changed");
    const bool services_changed = services.is_array() && !services.empty();
    const auto& net = field(answer, "netservices_changed");
    const bool net_changed = net.is_array() && !net.empty();
    if (plan.empty()) {
        if (services_changed)
            s.out() << "VMs unchanged; " << services_line(services, applied) << "\n";
        else if (net_changed)
            s.out() << "VMs unchanged\n";
        else
            s.out() << "no changes: the site matches what the agents report\n";
        if (net_changed) print_netservices(s, net, applied);
        return;
    }
    std::string text_plan = text(field(answer, "text"));
    s.out() << text_plan;
    if (!text_plan.empty() && text_plan.back() != '\n') s.out() << "\n";
    if (services_changed) s.out() << services_line(services, applied) << "\n";
    if (net_changed) print_netservices(s, net, applied);
}

int site_plan(Session& s, const SiteOptions& o, bool apply) {
    auto xml = read_site(s, o.file);
    if (!xml) return s.fail("cannot read " + o.file);
    nlohmann::json body = {{"site", *xml}};
    if (!o.algorithm.empty()) body["algorithm"] = o.algorithm;
    auto r = s.api().post(apply ? "/api/v1/site/apply" : "/api/v1/site/diff", body);
    if (!r) return plan_failed(s, o, r.error());
    if (s.json()) return s.print_json(r.json());
    print_plan(s, r.json(), apply);
    if (apply && !field(r.json(), "plan").empty()) {
        auto steps = field(r.json(), "plan").size();
        s.err() << "apply " << text(field(r.json(), "apply")) << " queued: " << steps
                << (steps == 1 ? " step" : " steps")
                << "; follow it with: provisioner site status\n";
    }
    return kExitOk;
}

std::string step_host(const nlohmann::json& step) {
    std::string from = text(field(step, "from_host"));
    std::string to = text(field(step, "host"));
    return from.empty() || from == "-" ? to : from + " -> " + to;
}

int site_status(Session& s) {
    auto r = s.api().get("/api/v1/site/status");
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    const auto& applies = field(r.json(), "applies");
    if (applies.empty()) {
        s.err() << "no applies since provisionerd started; apply a site with: provisioner site "
                   "apply FILE\n";
        return kExitOk;
    }
    Table table({"APPLY", "STATE", "CREATED", "STEPS", "DONE", "FAILED"});
    for (const auto& apply : applies) {
        std::size_t done = 0, failed = 0;
        for (const auto& step : field(apply, "steps")) {
            done += text(field(step, "state")) == "done";
            failed += text(field(step, "state")) == "failed";
        }
        table.add_row({text(field(apply, "id")), text(field(apply, "state")),
                       format_time(field(apply, "created_at")),
                       std::to_string(field(apply, "steps").size()), std::to_string(done),
                       std::to_string(failed)});
    }
    for (std::size_t c : {0, 3, 4, 5}) table.align_right(c);
    s.out() << table.render();

    const auto& newest = applies.front();
    if (field(newest, "steps").empty()) return kExitOk;
    s.out() << "\napply " << text(field(newest, "id")) << ":\n";
    Table steps({"ACTION", "KIND", "VM", "HOST", "STATE", "ERROR"});
    for (const auto& step : field(newest, "steps")) {
        std::string error = text(field(step, "error"));
        // A cold move's parts show which part (move_send, ...), not the step's "migrate".
        std::string kind = text(field(step, "part"));
        if (kind == "-") kind = text(field(step, "kind"));
        steps.add_row({text(field(step, "action")), kind, text(field(step, "vm")), step_host(step),
                       text(field(step, "state")), error == "-" ? "" : error});
    }
    steps.align_right(0);
    s.out() << steps.render();
    return kExitOk;
}

}  // namespace

void add_site_commands(CLI::App& app, Action& chosen) {
    auto* site = app.add_subcommand("site", "Plan and apply a site file (VMs on the hosts)");
    site->require_subcommand(1);
    const char* kFile = "the site file (XSM's XML; see provisioner/site/SITE_FILE.md), - for stdin";
    const char* kAlgorithm =
        "placement: first-fit, round-robin or weighted-round-robin (default: the file's, else "
        "first-fit)";

    auto diff_options = std::make_shared<SiteOptions>();
    auto* diff = site->add_subcommand(
        "diff", "Show what applying the site file would do, and where each VM would go");
    diff->add_option("FILE", diff_options->file, kFile)->required();
    diff->add_option("--algorithm", diff_options->algorithm, kAlgorithm);
    on_run(diff, chosen, [diff_options](Session& s) { return site_plan(s, *diff_options, false); });

    auto apply_options = std::make_shared<SiteOptions>();
    auto* apply = site->add_subcommand(
        "apply", "Queue the actions that turn the running VMs into the site file's");
    apply->add_option("FILE", apply_options->file, kFile)->required();
    apply->add_option("--algorithm", apply_options->algorithm, kAlgorithm);
    apply->add_flag("--dry-run", apply_options->dry_run, "only show the plan (as site diff)");
    on_run(apply, chosen, [apply_options](Session& s) {
        return site_plan(s, *apply_options, !apply_options->dry_run);
    });

    auto* status = site->add_subcommand("status", "The applies since provisionerd started");
    on_run(status, chosen, [](Session& s) { return site_status(s); });
}

}  // namespace provisioner::cli
