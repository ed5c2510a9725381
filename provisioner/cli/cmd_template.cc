// template add | list | show | label | remove: the server's template catalog (SO-MVDS's
// template sharing model: find templates by label; a reference without a version takes the
// most recently used, else the newest).
#include <filesystem>
#include <memory>
#include <vector>

#include "commands.h"
#include "imaging/http/query.h"
#include "job_wait.h"
#include "output/fields.h"
#include "output/format.h"
#include "output/table.h"

namespace provisioner::cli {
namespace {

struct AddOptions {
    std::string file;
    std::string name;
    std::string version;
    std::vector<std::string> labels;
    std::string backing;
};

struct ListOptions {
    std::string name;
    std::vector<std::string> labels;
};

struct LabelOptions {
    std::string ref;
    std::vector<std::string> add;
    std::vector<std::string> remove;
};

std::string template_path(const std::string& ref) {
    return "/api/v1/templates/" + path_segment(ref);
}

std::string joined(const nlohmann::json& items, const char* separator) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : separator) + text(item);
    return out;
}

std::string labels_of(const nlohmann::json& t) {
    std::string labels = joined(field(t, "labels"), ",");
    return labels.empty() ? "-" : labels;
}

int template_add(Session& s, const AddOptions& o) {
    // The server reads the file, as it does an image directory: the CLI usually runs there.
    std::string absolute = std::filesystem::absolute(o.file).lexically_normal().string();
    nlohmann::json body = {
        {"path", absolute}, {"name", o.name}, {"version", o.version}, {"labels", o.labels}};
    if (!o.backing.empty()) body["backing"] = o.backing;
    // The server copies and packs the file as a job; this waits for it (progress on a terminal).
    auto r = wait_for_job(s, s.api().post("/api/v1/templates", body));
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    const auto& t = r.json();
    s.out() << "added template " << text(field(t, "ref")) << ": " << text(field(t, "format"))
            << ", " << format_bytes(field(t, "size")) << ", labels " << labels_of(t) << "\n";
    return kExitOk;
}

int template_list(Session& s, const ListOptions& o) {
    std::string query;
    if (!o.name.empty()) query += "name=" + imaging::http::percent_encode(o.name);
    if (!o.labels.empty()) {
        std::string labels;
        for (const auto& l : o.labels) labels += (labels.empty() ? "" : ",") + l;
        query += (query.empty() ? "" : "&") + ("label=" + imaging::http::percent_encode(labels));
    }
    auto r = s.api().get("/api/v1/templates" + (query.empty() ? "" : "?" + query));
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    const auto& templates = field(r.json(), "templates");
    if (templates.empty()) {
        s.err() << (query.empty() ? "no templates; add one with: provisioner template add FILE "
                                    "--name NAME --version VERSION\n"
                                  : "no template matches\n");
        return kExitOk;
    }
    Table table({"TEMPLATE", "FORMAT", "SIZE", "BACKING", "LABELS", "LAST USED"});
    for (const auto& t : templates) {
        table.add_row({text(field(t, "ref")), text(field(t, "format")),
                       format_bytes(field(t, "size")), text(field(t, "backing")), labels_of(t),
                       format_time(field(t, "last_used_at"))});
    }
    table.align_right(2);
    s.out() << table.render();
    return kExitOk;
}

void print_template(Session& s, const nlohmann::json& t) {
    s.out() << render_fields({
        {"template", text(field(t, "ref"))},
        {"id", text(field(t, "id"))},
        {"labels", labels_of(t)},
        {"format", text(field(t, "format"))},
        {"size", format_bytes(field(t, "size"))},
        {"sha256", text(field(t, "sha256"))},
        {"backing", text(field(t, "backing"))},
        {"path", text(field(t, "path"))},
        {"created", format_time(field(t, "created_at"))},
        {"last used", format_time(field(t, "last_used_at"))},
    });
}

int template_show(Session& s, const std::string& ref) {
    auto r = s.api().get(template_path(ref));
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    print_template(s, r.json());
    return kExitOk;
}

int template_label(Session& s, const LabelOptions& o) {
    if (o.add.empty() && o.remove.empty()) return s.fail("give --add LABEL or --remove LABEL");
    auto r = s.api().post(template_path(o.ref) + "/labels", {{"add", o.add}, {"remove", o.remove}});
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    s.out() << text(field(r.json(), "ref")) << ": labels " << labels_of(r.json()) << "\n";
    return kExitOk;
}

int template_remove(Session& s, const std::string& ref) {
    auto r = s.api().del(template_path(ref));
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    s.out() << "removed template " << text(field(r.json(), "ref")) << "\n";
    return kExitOk;
}

}  // namespace

void add_template_commands(CLI::App& app, Action& chosen) {
    auto* tpl = app.add_subcommand(
        "template", "Add, find, label and remove VM disk templates (the site file's TEMPLATE)");
    tpl->require_subcommand(1);
    const char* kRef =
        "the template: NAME@VERSION, NAME (the most recently used version, else the newest) or "
        "label=L[,L...] (a template carrying all)";

    auto add_options = std::make_shared<AddOptions>();
    auto* add = tpl->add_subcommand(
        "add",
        "Copy an image file that is on the server into the template catalog; waits while the "
        "server copies and packs it (progress on a terminal)");
    add->add_option("FILE", add_options->file,
                    "the raw or qcow2 image on the server; a relative path is made absolute "
                    "against this directory")
        ->required();
    add->add_option("--name", add_options->name, "the template's name (A-Z a-z 0-9 . _ -)")
        ->required();
    add->add_option("--version", add_options->version,
                    "its version; NAME@VERSION is never replaced once added")
        ->required();
    add->add_option("--label", add_options->labels, "a label to find it by (repeatable)")
        ->allow_extra_args(false);
    add->add_option("--backing", add_options->backing,
                    "NAME@VERSION of the template this qcow2 overlay is made on (its backing "
                    "file must be NAME@VERSION.FORMAT)");
    on_run(add, chosen, [add_options](Session& s) { return template_add(s, *add_options); });

    auto list_options = std::make_shared<ListOptions>();
    auto* list = tpl->add_subcommand("list", "List templates as a table")->alias("ls");
    list->add_option("--name", list_options->name, "only this name's versions");
    list->add_option("--label", list_options->labels,
                     "only templates carrying this label (repeatable: all of them)")
        ->allow_extra_args(false);
    on_run(list, chosen, [list_options](Session& s) { return template_list(s, *list_options); });

    auto show_ref = std::make_shared<std::string>();
    auto* show = tpl->add_subcommand("show", "Show the template a reference resolves to");
    show->add_option("REF", *show_ref, kRef)->required();
    on_run(show, chosen, [show_ref](Session& s) { return template_show(s, *show_ref); });

    auto label_options = std::make_shared<LabelOptions>();
    auto* label = tpl->add_subcommand("label", "Add or remove a template's labels");
    label->add_option("REF", label_options->ref, kRef)->required();
    label->add_option("--add", label_options->add, "a label to add (repeatable)")
        ->allow_extra_args(false);
    label->add_option("--remove", label_options->remove, "a label to remove (repeatable)")
        ->allow_extra_args(false);
    on_run(label, chosen,
           [label_options](Session& s) { return template_label(s, *label_options); });

    auto remove_ref = std::make_shared<std::string>();
    auto* remove = tpl->add_subcommand("remove",
                                       "Remove a template (refused while a VM uses it or "
                                       "another template is made on it)")
                       ->alias("rm");
    remove->add_option("REF", *remove_ref, "the template: NAME@VERSION")->required();
    on_run(remove, chosen, [remove_ref](Session& s) { return template_remove(s, *remove_ref); });
}

}  // namespace provisioner::cli
