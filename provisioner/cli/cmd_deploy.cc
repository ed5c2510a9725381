// deploy, and deployment list | show | watch (the watch loop is in cmd_watch.cc)
#include <memory>

#include "commands.h"
#include "deployment_view.h"
#include "output/fields.h"
#include "output/format.h"
#include "output/table.h"

namespace provisioner::cli {
namespace {

struct DeployOptions {
    std::string image;
    std::string hosts;
    std::string transport = "auto";
    bool watch = false;
};

int deploy(Session& s, const DeployOptions& o) {
    nlohmann::json body = {{"image", o.image}, {"hosts", o.hosts}, {"transport", o.transport}};
    auto r = s.api().post("/api/v1/deployments", body);
    if (!r) return s.fail(r.error());
    const auto& d = r.json();
    std::string id = text(field(d, "id"));
    if (o.watch) {
        if (!s.json()) s.out() << "deployment " << id << " started\n";
        return watch_deployment(s, id);
    }
    if (s.json()) return s.print_json(d);
    s.out() << "deployment " << id << " started: " << image_label(field(d, "image")) << " by "
            << text(field(d, "transport"));
    if (field(d, "targets").is_array() || field(d, "counts").is_object()) {
        s.out() << ", " << counts_summary(d);
    }
    s.out() << "\nfollow it with: provisioner deployment watch " << id << "\n";
    return kExitOk;
}

int deployment_list(Session& s) {
    auto r = s.api().get("/api/v1/deployments");
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    const auto& deployments = field(r.json(), "deployments");
    if (deployments.empty()) {
        s.err() << "no deployments\n";
        return kExitOk;
    }
    Table table({"ID", "IMAGE", "TRANSPORT", "STATE", "CREATED", "FINISHED", "PENDING", "RUNNING",
                 "SUCCEEDED", "FAILED"});
    for (const auto& d : deployments) {
        const auto& counts = field(d, "counts");
        table.add_row({text(field(d, "id")), image_label(field(d, "image")),
                       text(field(d, "transport")), text(field(d, "state")),
                       format_time(field(d, "created_at")), format_time(field(d, "finished_at")),
                       text(field(counts, "pending")), text(field(counts, "running")),
                       text(field(counts, "succeeded")), text(field(counts, "failed"))});
    }
    for (std::size_t column : {0, 6, 7, 8, 9}) table.align_right(column);
    s.out() << table.render();
    return kExitOk;
}

int deployment_show(Session& s, const std::string& id) {
    auto r = s.api().get("/api/v1/deployments/" + path_segment(id));
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    const auto& d = r.json();
    s.out() << render_fields({
        {"id", text(field(d, "id"))},
        {"image", image_label(field(d, "image"))},
        {"transport", text(field(d, "transport"))},
        {"state", text(field(d, "state"))},
        {"created", format_time(field(d, "created_at"))},
        {"finished", format_time(field(d, "finished_at"))},
        {"hosts", counts_summary(d)},
    });
    if (field(d, "targets").is_array() && !d["targets"].empty()) {
        s.out() << "\n" << render_targets(d);
    }
    return kExitOk;
}

}  // namespace

void add_deploy_commands(CLI::App& app, Action& chosen) {
    auto o = std::make_shared<DeployOptions>();
    auto* cmd = app.add_subcommand("deploy", "Image a set of hosts: start a deployment");
    cmd->add_option("--image", o->image,
                    "the image: its id, name@version, or name (the newest version)")
        ->required();
    cmd->add_option("--hosts", o->hosts,
                    "which hosts, as for `host list`: all, web-*, rack=r1,state=enrolled; "
                    "only enrolled, imaged, ready or failed hosts are taken")
        ->required();
    cmd->add_option("--transport", o->transport,
                    "how the image travels: auto (delta for few hosts, multicast for many; see "
                    "provisionerd --auto-threshold), delta, multicast or torrent")
        ->check(CLI::IsMember({"auto", "delta", "multicast", "torrent"}))
        ->capture_default_str();
    cmd->add_flag("--watch", o->watch,
                  "then follow it as `deployment watch` does (and exit as it does)");
    on_run(cmd, chosen, [o](Session& s) { return deploy(s, *o); });
}

void add_deployment_commands(CLI::App& app, Action& chosen) {
    auto* group = app.add_subcommand("deployment", "List, inspect and watch deployments");
    group->require_subcommand(1);

    auto* list = group->add_subcommand("list", "List deployments, newest first")->alias("ls");
    on_run(list, chosen, [](Session& s) { return deployment_list(s); });

    auto show_id = std::make_shared<std::string>();
    auto* show = group->add_subcommand("show", "Show one deployment and each host's progress");
    show->add_option("ID", *show_id, "the deployment's id")->required();
    on_run(show, chosen, [show_id](Session& s) { return deployment_show(s, *show_id); });

    auto watch_id = std::make_shared<std::string>();
    auto* watch = group->add_subcommand(
        "watch",
        "Follow a deployment until it ends: progress bars on a terminal, else a line per host "
        "state change and a summary every 5 s; exits 0 if it succeeded, 1 if not");
    watch->add_option("ID", *watch_id, "the deployment's id")->required();
    on_run(watch, chosen, [watch_id](Session& s) { return watch_deployment(s, *watch_id); });
}

}  // namespace provisioner::cli
