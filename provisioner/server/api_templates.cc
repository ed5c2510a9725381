// /api/v1/templates: the template catalog (add from a file on the server, as a job; list,
// show, label, remove), and /api/v1/agent/templates/: a template's record and file for the
// hosts' agents.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>

#include "api.h"
#include "api_routes.h"
#include "api_support.h"
#include "hot_templates.h"
#include "imaging/http/query.h"
#include "import_paths.h"
#include "json_views.h"
#include "provisioner/vmhost/template_ref.h"
#include "state.h"
#include "template_catalog.h"
#include "template_image.h"

namespace provisioner::server {

using imaging::http::bhttp::verb;
using nlohmann::json;

namespace {

Response bad_request(const Request& req, const std::string& message) {
    return status_response(req, Status::error(Code::invalid_argument, message));
}

// An optional array of strings; invalid_argument naming key otherwise.
Result<std::vector<std::string>> string_list(const json& body, const char* key) {
    std::vector<std::string> out;
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return out;
    if (!it->is_array())
        return Status::error(Code::invalid_argument,
                             std::string("\"") + key + "\" must be an array of strings");
    for (const json& item : *it) {
        if (!item.is_string())
            return Status::error(Code::invalid_argument,
                                 std::string("\"") + key + "\" must be an array of strings");
        out.push_back(item.get<std::string>());
    }
    return out;
}

// By name, then version (as versions compare: "2" before "10").
void sort_templates(std::vector<Template>& list) {
    std::sort(list.begin(), list.end(), [](const Template& a, const Template& b) {
        if (a.name != b.name) return a.name < b.name;
        return vmhost::compare_versions(a.version, b.version) < 0;
    });
}

// What uses template ref: VMs the agents report on it, and create steps not yet answered.
std::vector<std::string> vms_using(const VmRegistry& vms, const std::string& ref) {
    std::vector<std::string> names;
    for (const HostReport& r : vms.reports())
        for (const ReportedVm& vm : r.vms)
            if (vm.template_ref == ref) names.push_back(vm.name + " on " + r.name);
    for (const ApplyRecord& a : vms.applies())
        for (const VmAction& step : a.steps)
            if (step.step.kind == reconcile::ActionKind::create && step.vm.template_ref == ref &&
                (step.state == ActionState::waiting || step.state == ActionState::released))
                names.push_back(step.vm.name + " (being created on " + step.step.host + ")");
    return names;
}

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

Response add(ApiContext& ctx, const Request& req) {
    auto body = json_body(req);
    if (!body) return body_error(req, body.status());
    auto path = string_field(*body, "path");
    if (!path) return status_response(req, path.status());
    auto name = string_field(*body, "name");
    if (!name) return status_response(req, name.status());
    auto version = string_field(*body, "version");
    if (!version) return status_response(req, version.status());
    auto labels = string_list(*body, "labels");
    if (!labels) return status_response(req, labels.status());
    ImportPath checked =
        check_import_path(import_directories(ctx.config), ctx.config.state_dir, *path);
    if (checked.refusal != ImportPath::Refusal::none) return import_refused(req, checked);
    NewTemplate request{*name, *version, *labels, optional_string(*body, "backing"),
                        checked.resolved};
    // What can be refused at once is (names, labels, an existing name@version, a missing
    // backing); the copy and the packing, which take the file's size, are the job.
    if (Status s = check_new_template(ctx.store, request); !s) return status_response(req, s);
    return job_started(
        ctx, req, "template_add",
        "template " + *name + "@" + *version + " from " + *path,
        [&ctx, request, shown = *path](JobProgress& progress) -> Result<json> {
            std::string current;
            TemplateProgress report = [&progress, &current](const std::string& stage,
                                                            std::uint64_t done,
                                                            std::uint64_t total) {
                if (stage != current) progress.stage(current = stage, total);
                progress.advance(done);
            };
            auto added = add_template(ctx.store, ctx.config.state_dir / "templates",
                                      StateFiles{ctx.config.state_dir}.signing_key(), request,
                                      report);
            if (!added) return added.status();
            ctx.store.log_event(server_event("template " + added->ref() + " added from " + shown));
            return template_json(*added);
        });
}

Response list(ApiContext& ctx, const Request& req) {
    auto query =
        imaging::http::parse_query(std::string_view(req.target().data(), req.target().size()));
    if (!query) return bad_request(req, "malformed query");
    auto all = ctx.store.list_templates();
    if (!all) return status_response(req, all.status());
    auto name = imaging::http::query_value(*query, "name");
    auto label = imaging::http::query_value(*query, "label");
    std::optional<vmhost::TemplateRef> by_label;
    if (label) {
        auto parsed = vmhost::parse_template_ref("label=" + *label);
        if (!parsed) return status_response(req, parsed.status());
        by_label = *parsed;
    }
    std::vector<Template> shown;
    for (const Template& t : *all) {
        if (name && t.name != *name) continue;
        if (by_label && !resolve_template({t}, by_label->str())) continue;
        shown.push_back(t);
    }
    sort_templates(shown);
    // Hot (SO-MVDS): kept on, and pre-copied to, every Dom0; the rest cool down and go.
    std::set<std::string> hot;
    for (const Template& t : hot_templates(*all, ctx.store.now(), ctx.config.template_cool_down))
        hot.insert(t.ref());
    // Where each is: the hosts whose last Dom0 report lists it in their template store.
    std::map<std::string, std::vector<std::string>> held;
    for (const HostReport& r : ctx.vms.reports())
        for (const std::string& ref : r.templates) held[ref].push_back(r.name);
    for (auto& [_, names] : held) std::sort(names.begin(), names.end());
    json out = json::array();
    for (const Template& t : shown) {
        json entry = template_json(t);
        entry["hot"] = hot.count(t.ref()) > 0;
        auto on = held.find(t.ref());
        entry["hosts"] = on == held.end() ? json::array() : json(on->second);
        out.push_back(std::move(entry));
    }
    return json_response(req, status::ok,
                         {{"templates", out},
                          {"cool_down", std::int64_t(ctx.config.template_cool_down.count())}});
}

Result<Template> resolve(ApiContext& ctx, const std::string& ref) {
    auto all = ctx.store.list_templates();
    if (!all) return all.status();
    return resolve_template(*all, ref);
}

// Removal and the agents' fetch name one version: a guess there would be a surprise.
Result<Template> resolve_exact(ApiContext& ctx, const std::string& ref) {
    auto parsed = vmhost::parse_template_ref(ref);
    if (!parsed) return parsed.status();
    if (parsed->version.empty() || !parsed->labels.empty())
        return Status::error(Code::invalid_argument,
                             "name the template as NAME@VERSION here, not \"" + ref + "\"");
    return ctx.store.find_template(parsed->name, parsed->version);
}

Response show(ApiContext& ctx, const Request& req, const std::string& ref) {
    auto t = resolve(ctx, ref);
    if (!t) return status_response(req, t.status());
    return json_response(req, status::ok, template_json(*t));
}

Response label(ApiContext& ctx, const Request& req, const std::string& ref) {
    auto body = json_body(req);
    if (!body) return body_error(req, body.status());
    auto added = string_list(*body, "add");
    if (!added) return status_response(req, added.status());
    auto removed = string_list(*body, "remove");
    if (!removed) return status_response(req, removed.status());
    if (added->empty() && removed->empty())
        return bad_request(req, "give labels to \"add\" or \"remove\"");
    if (auto checked = clean_labels(*added); !checked)
        return status_response(req, checked.status());
    if (auto checked = clean_labels(*removed); !checked)
        return status_response(req, checked.status());
    auto t = resolve(ctx, ref);
    if (!t) return status_response(req, t.status());
    std::vector<std::string> labels = t->labels;
    labels.insert(labels.end(), added->begin(), added->end());
    std::erase_if(labels, [&](const std::string& l) {
        return std::find(removed->begin(), removed->end(), l) != removed->end();
    });
    auto cleaned = clean_labels(std::move(labels));
    if (Status s = ctx.store.set_template_labels(t->id, *cleaned); !s)
        return status_response(req, s);
    t->labels = *cleaned;
    return json_response(req, status::ok, template_json(*t));
}

Response remove(ApiContext& ctx, const Request& req, const std::string& ref) {
    auto t = resolve_exact(ctx, ref);
    if (!t) return status_response(req, t.status());
    if (auto users = vms_using(ctx.vms, t->ref()); !users.empty())
        return error_response(req, status::conflict, "conflict",
                              "template " + t->ref() + " is in use by " + joined(users));
    auto all = ctx.store.list_templates();
    if (!all) return status_response(req, all.status());
    std::vector<std::string> children;
    for (const Template& c : *all)
        if (c.backing == t->ref()) children.push_back(c.ref());
    if (!children.empty())
        return error_response(req, status::conflict, "conflict",
                              "template " + t->ref() + " is the backing of " + joined(children));
    if (Status s = ctx.store.remove_template(t->id); !s) return status_response(req, s);
    std::error_code ec;
    std::filesystem::remove(t->path, ec);
    remove_template_image(ctx.config.state_dir / "templates", t->ref());
    ctx.store.log_event(server_event("template " + t->ref() + " removed"));
    return json_response(req, status::ok, template_json(*t));
}

// Streamed from disk: templates are disk images of GiB. The file stays on the server that
// imported it (its pack travels to the others: hot_template_packs.h, rack_templates.h), so
// another server of a shared database says so rather than naming a path it lacks.
imaging::http::Reply file(const Request& req, const Template& t) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(t.path, ec))
        return status_response(
            req, Status::error(Code::error,
                               "template " + t.ref() +
                                   "'s file is not on this server: it stays on the server "
                                   "that imported it (Dom0 agents pre-copy hot templates by "
                                   "delta from whichever server serves them)"));
    auto reply = imaging::http::make_file_response(req, status::ok, t.path);
    if (!reply) return status_response(req, Status::error(Code::storage, reply.status().message()));
    return std::move(*reply);
}

}  // namespace

namespace handlers {

Reply list_templates(ApiContext& ctx, const Call& c) { return list(ctx, c.req); }
Reply add_template(ApiContext& ctx, const Call& c) { return server::add(ctx, c.req); }
Reply show_template(ApiContext& ctx, const Call& c) {
    return show(ctx, c.req, c.param("template"));
}
Reply label_template(ApiContext& ctx, const Call& c) {
    return label(ctx, c.req, c.param("template"));
}
Reply remove_template(ApiContext& ctx, const Call& c) {
    return remove(ctx, c.req, c.param("template"));
}
// The agents' fetch, with a Dom0 token or an operator token (api_routes.cc).
Reply agent_template(ApiContext& ctx, const Call& c) {
    auto t = resolve_exact(ctx, c.param("template"));
    if (!t) return status_response(c.req, t.status());
    return json_response(c.req, status::ok, template_json(*t));
}
Reply agent_template_file(ApiContext& ctx, const Call& c) {
    auto t = resolve_exact(ctx, c.param("template"));
    if (!t) return status_response(c.req, t.status());
    return file(c.req, *t);
}

}  // namespace handlers

}  // namespace provisioner::server
