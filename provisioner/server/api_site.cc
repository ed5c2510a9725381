// /api/v1/site/*, /api/v1/vms and the Dom0 agent's /api/v1/agent/vms and /agent/actions/{id}:
// the site file planned against the agents' reports, applied through the VM registry's queue;
// and the guest agents' /api/v1/guest/report (the VMs' services).
#include <charconv>
#include <functional>
#include <set>
#include <variant>

#include "api.h"
#include "api_routes.h"
#include "api_support.h"
#include "base/atomic_file.h"
#include "history_samples.h"
#include "history_vm_samples.h"
#include "hot_templates.h"
#include "site_apply_lease.h"
#include "provisioner/placement.h"
#include "provisioner/reconcile.h"
#include "provisioner/site.h"
#include "provisioner/wire/dom0.h"
#include "provisioner/wire/guest.h"
#include "site_json.h"
#include "template_catalog.h"
#include "vm_registry.h"

namespace provisioner::server {

using imaging::http::bhttp::verb;
using nlohmann::json;

namespace {

// A site file (its templates resolved) and its plan against the latest reports, or the
// answer to give instead.
struct Planned {
    std::string xml;  // the file as sent
    site::Site site;
    reconcile::Plan plan;
    std::optional<Response> refused;
    std::vector<Template> catalog;
};

Planned refuse(Response answer) {
    Planned p;
    p.refused = std::move(answer);
    return p;
}

// 400 with the site file's problems as "lines", beside the error and inside it.
Response site_problems(const Request& req, const std::vector<site::Problem>& problems) {
    json lines = json::array();
    for (const site::Problem& p : problems)
        lines.push_back({{"line", p.line}, {"message", p.message}});
    site::ParsedSite summary{{}, problems};
    json error = {
        {"code", "invalid_argument"}, {"message", summary.summary("site")}, {"lines", lines}};
    return json_response(req, status::bad_request, {{"error", error}, {"lines", lines}});
}

Planned plan_from_body(ApiContext& ctx, const Request& req) {
    auto body = json_body(req);
    if (!body) return refuse(body_error(req, body.status()));
    auto xml = string_field(*body, "site");
    if (!xml) return refuse(status_response(req, xml.status()));
    std::string algorithm = optional_string(*body, "algorithm");
    if (!algorithm.empty()) {
        if (auto placer = placement::make_placer(algorithm); !placer)
            return refuse(status_response(req, placer.status()));
    }
    site::ParsedSite parsed = site::parse_site(*xml);
    if (!parsed.ok()) return refuse(site_problems(req, parsed.problems));
    reconcile::ActualState actual = ctx.vms.actual();
    auto catalog = ctx.store.list_templates();
    if (!catalog) return refuse(status_response(req, catalog.status()));
    SiteTemplates resolved = resolve_site_templates(*catalog, std::move(parsed.site), actual);
    if (!resolved.problems.empty()) return refuse(site_problems(req, resolved.problems));
    if (actual.hosts.empty() && !resolved.site.vms.empty())
        return refuse(error_response(req, status::conflict, "conflict",
                                     "no host has reported its VMs yet (provisioner-agent dom0 "
                                     "runs on each host); nothing can be placed"));
    auto plan = reconcile::plan_site(resolved.site, actual, algorithm);
    if (!plan)
        return refuse(error_response(req, status::conflict, "conflict", plan.status().message()));
    Planned out;
    out.xml = std::move(*xml);
    out.site = std::move(resolved.site);
    out.plan = std::move(*plan);
    out.catalog = std::move(*catalog);
    return out;
}

// SO-MVDS's "most recently used": every template a create step of the apply uses. The apply
// is queued by then; a use that fails to be recorded only makes a later choice less informed.
void mark_used(ApiContext& ctx, const Planned& p) {
    for (const reconcile::Action& a : p.plan.actions) {
        if (a.kind != reconcile::ActionKind::create) continue;
        for (const Template& t : p.catalog)
            if (t.ref() == a.image) (void)ctx.store.mark_template_used(t.id, ctx.store.now());
    }
}

json plan_json(const reconcile::Plan& plan) {
    json steps = json::array();
    for (const reconcile::Action& a : plan.actions) steps.push_back(step_json(a));
    json placed = json::array();
    for (const placement::Assignment& a : plan.placement)
        placed.push_back({{"vm", a.vm}, {"host", a.host}, {"reason", a.reason}});
    return {{"plan", steps}, {"text", plan.describe()}, {"placement", placed}};
}

Response site_diff(ApiContext& ctx, const Request& req) {
    Planned p = plan_from_body(ctx, req);
    if (p.refused) return std::move(*p.refused);
    json out = plan_json(p.plan);
    out["services_changed"] = ctx.services.changes(p.site);
    out["netservices_changed"] = ctx.netservices->changes(p.site);
    return json_response(req, status::ok, out);
}

Response site_apply(ApiContext& ctx, const Request& req) {
    // One server applies at a time (409 naming the one that does); planned from the store.
    std::optional<SiteApplyLease::Claim> claim;
    if (ctx.site_apply) {
        auto got = ctx.site_apply->begin();
        if (!got) return status_response(req, got.status());
        claim.emplace(std::move(*got));
    }
    Planned p = plan_from_body(ctx, req);
    if (p.refused) return std::move(*p.refused);
    auto id = ctx.vms.enqueue_apply(p.plan, p.site, ctx.store.now());
    if (!id && id.status().code() == Code::storage) return status_response(req, id.status());
    if (!id) return error_response(req, status::conflict, "conflict", id.status().message());
    mark_used(ctx, p);
    const json netservices_changed = ctx.netservices->changes(p.site);
    if (Status s = ctx.netservices->set_site(p.site, p.plan.placement); !s)
        return status_response(req, s.context("the apply is queued, but its network services"));
    // The services follow the applied file (kept in the store); the file is kept too, as the
    // operator's record of what was applied last.
    auto services_changed = ctx.services.set_site(p.site);
    if (!services_changed)
        return status_response(req, services_changed.status().context("the apply is queued, but"));
    if (Status s = base::write_private_file(ctx.config.state_dir / "site.xml", p.xml); !s.is_ok())
        return status_response(req, Status::error(Code::storage, "the apply is queued, but the site "
                                                            "file could not be kept: " +
                                                                s.message()));
    json out = plan_json(p.plan);
    out["apply"] = *id;
    out["services_changed"] = *services_changed;
    out["netservices_changed"] = netservices_changed;
    return json_response(req, status::accepted, out);
}

Response site_status(ApiContext& ctx, const Request& req) {
    json applies = json::array();
    // Steps answered through other servers sharing the store count here too.
    if (Status s = ctx.vms.sync_actions(ctx.store.now()); !s) return status_response(req, s);
    for (const ApplyRecord& a : ctx.vms.applies()) {
        json steps = json::array();
        for (const VmAction& s : a.steps) steps.push_back(apply_step_json(s));
        applies.push_back(
            {{"id", a.id}, {"created_at", a.created_at}, {"state", a.state}, {"steps", steps}});
    }
    return json_response(req, status::ok, {{"applies", applies}});
}

json services_json(const VmServices& view) {
    json list = json::array();
    for (const ServiceReport& r : view.services) {
        json s = {{"package", r.package}, {"state", to_string(r.state)}};
        if (!r.error.empty()) s["error"] = r.error;
        if (!r.access.empty()) s["access"] = r.access;
        list.push_back(std::move(s));
    }
    return list;
}

Response list_vms(ApiContext& ctx, const Request& req) {
    json vms = json::array();
    const Timestamp now = ctx.store.now();
    const std::vector<HostReport> reports = ctx.vms.reports();
    for (const HostReport& r : reports) {
        for (const ReportedVm& vm : r.vms) {
            json v = vm_json(vm);
            v["host"] = r.name;
            if (auto active = ctx.netservices->active(vm.name); !active.empty()) {
                json list = json::array();
                for (const wire::NetService& n : active) {
                    json entry = wire::encode(n);
                    entry["text"] = wire::describe(n);
                    list.push_back(std::move(entry));
                }
                v["netservices"] = std::move(list);
            }
            if (auto view = ctx.services.view(vm.name, now)) {
                v["services"] = services_json(*view);
                v["service_state"] = to_string(view->summary);
                if (!view->address.empty()) v["address"] = view->address;
            }
            vms.push_back(std::move(v));
        }
    }
    // Gone from its host's report with no action for it (VmRegistry::report), and not back
    // on another host since that host's last report.
    std::set<std::string> reported;
    for (const HostReport& r : reports)
        for (const ReportedVm& vm : r.vms) reported.insert(vm.name);
    for (const HostReport& r : reports)
        for (const MissingVm& m : r.missing)
            if (!reported.count(m.name))
                vms.push_back({{"name", m.name},
                               {"host", r.name},
                               {"state", "missing"},
                               {"missing", true},
                               {"missing_since", m.since},
                               {"last_state", m.last_state}});
    return json_response(req, status::ok, {{"vms", vms}});
}

// "provisioner.server=URL provisioner.guest=NAME provisioner.token=T": what the VM's guest
// agent reads (API.md "Services in VMs").
std::string guest_line(ApiContext& ctx, const std::string& vm) {
    return "provisioner.server=" + ctx.config.public_url + " provisioner.guest=" + vm +
           " provisioner.token=" + ctx.auth.guest_token(vm);
}

Response vm_guest(ApiContext& ctx, const Request& req, const std::string& vm) {
    return json_response(req, status::ok,
                         {{"vm", vm},
                          {"server", ctx.config.public_url},
                          {"token", ctx.auth.guest_token(vm)},
                          {"cmdline", guest_line(ctx, vm)}});
}

// The guest agent's report; its token is checked against the VM the body names.
Response guest_report(ApiContext& ctx, const Request& req) {
    auto body = json_body(req);
    if (!body) return body_error(req, body.status());
    auto message = wire::decode<wire::GuestReport>(*body);
    if (!message) return status_response(req, message.status());
    const std::string* vm = &message->vm;
    auto header = req[imaging::http::bhttp::field::authorization];
    if (!ctx.auth.is_guest(std::string_view(header.data(), header.size()), *vm))
        return error_response(req, status::unauthorized, "unauthorized",
                              "a guest token for VM \"" + *vm + "\" is required");
    constexpr std::size_t kMaxServices = 256, kMaxText = 4096;
    if (message->services.size() > kMaxServices)
        return invalid_argument_response(req, "services must be an array of at most 256 entries");
    std::vector<ServiceReport> reports;
    for (const wire::ServiceReport& item : message->services) {
        auto state = parse_guest_state(wire::to_string(item.state));
        if (!state) return status_response(req, state.status());
        ServiceReport r{item.package, *state, item.error, item.access};
        if (r.package.size() > kMaxText || r.error.size() > kMaxText || r.access.size() > kMaxText)
            return invalid_argument_response(req,
                                             "a service's package, error or access is too long");
        reports.push_back(std::move(r));
    }
    const std::string& address = message->address;
    if (address.size() > 64) return invalid_argument_response(req, "address is too long");
    auto wanted = ctx.services.report(*vm, address, std::move(reports), ctx.store.now());
    if (!wanted) return status_response(req, wanted.status());
    wire::GuestAnswer answer;
    answer.interval_seconds = 30;
    for (const site::Service& s : *wanted) answer.services.push_back({s.package, s.parameters});
    return json_response(req, status::ok, wire::encode(answer));
}

Response recall(ApiContext& ctx, const Request& req) {
    auto body = json_body(req);
    if (!body) return body_error(req, body.status());
    auto selector = string_field(*body, "selector");
    if (!selector) return status_response(req, selector.status());
    if (selector->empty()) return invalid_argument_response(req, "selector must not be empty");
    auto recalled = ctx.vms.recall(*selector);
    if (!recalled) return status_response(req, recalled.status());
    json actions = json::array();
    for (const VmAction& a : *recalled) actions.push_back(action_json(a));
    // A missing VM has nothing to remove: recalling it drops its flag.
    auto forgotten = ctx.vms.forget_missing(*selector);
    if (!forgotten) return status_response(req, forgotten.status());
    return json_response(req, status::accepted, {{"actions", actions}, {"forgotten", *forgotten}});
}

Response wrong_host(const Request& req, const Host& host, const Mac& mac) {
    return error_response(req, status::forbidden, "forbidden",
                          "this token is for " + host.mac.str() + ", not " + mac.str());
}

// The report: read from the body's text with no DOM (wire::read_dom0_report), the path of
// every well-formed report. Whatever that reader leaves (a malformed or refused report, a
// MAC that does not parse) is read as a DOM, json_body then decode, which answers as before.
std::variant<wire::Dom0Report, Response> read_report(const Request& req, const Host& host) {
    auto fast = wire::read_dom0_report(req.body(), {kMaxJsonBody, kMaxJsonDepth});
    if (fast) {
        if (fast->mac.empty()) return std::move(*fast);
        auto mac = Mac::parse(fast->mac);
        if (mac && *mac != host.mac) return wrong_host(req, host, *mac);
        if (mac) return std::move(*fast);
    }
    auto body = json_body(req);
    if (!body) return body_error(req, body.status());
    if (body->contains("mac")) {
        auto mac = mac_field(*body, "mac");
        if (!mac) return status_response(req, mac.status());
        if (*mac != host.mac) return wrong_host(req, host, *mac);
    }
    auto decoded = wire::decode<wire::Dom0Report>(*body);
    if (!decoded) return status_response(req, decoded.status());
    return std::move(*decoded);
}

Response agent_vms(ApiContext& ctx, const Request& req, const Host& host) {
    auto read = read_report(req, host);
    if (auto* refused = std::get_if<Response>(&read)) return std::move(*refused);
    HostReport report;
    std::optional<wire::HostMetrics> metrics;
    std::vector<wire::ReportedVm> reported_vms;
    read_vm_report(std::move(std::get<wire::Dom0Report>(read)), report, metrics, reported_vms);
    report.host = host.id;
    report.name = host.name;
    report.ip = host.ip;
    report.reported_at = ctx.store.now();
    const Timestamp reported_at = report.reported_at;
    if (Status s = ctx.vms.report(std::move(report)); !s) return status_response(req, s);
    wire::Dom0Answer answer;
    std::vector<std::string> names;
    for (const wire::ReportedVm& vm : reported_vms) {
        ctx.netservices->reported(vm.name, vm.netservices);
        names.push_back(vm.name);
    }
    answer.netservices = ctx.netservices->for_host(host.name, host.ip, names);
    for (const wire::VmNetServices& vm : *answer.netservices)
        for (const wire::NetService& s : vm.services)
            if (s.kind == wire::NetService::Kind::compress)
                answer.tunnel_key = ctx.auth.compress_tunnel_key();
    if (ctx.history) {  // queued: the report does not wait on the history's disk
        std::vector<VmSamples> vms;
        for (const wire::ReportedVm& vm : reported_vms)
            if (vm.metrics)
                vms.push_back({vm.name, vm_samples(*vm.metrics, ctx.history->shapes())});
        ctx.history->record_report(
            std::to_string(host.id), double(ctx.store.now()) / 1000,
            metrics ? host_samples(*metrics, ctx.history->shapes()) : SampleSet{}, std::move(vms));
    }
    // Last: it takes the VMs' metrics (no copy of 20 VMs' a report).
    if (ctx.vm_metrics) ctx.vm_metrics->update(host.id, reported_at, std::move(reported_vms));
    if (ctx.monitor) {
        if (Status s = ctx.monitor->reported(host, std::move(metrics)); !s)
            return status_response(req, s);
        answer.interval_seconds = std::uint32_t(ctx.monitor->interval().count());
    }
    // Steps queued through another server sharing the store reach this host here. When the
    // store cannot be read, the cached steps go out and the next report tries again.
    (void)ctx.vms.sync_actions(ctx.store.now());
    for (const VmAction& a : ctx.vms.pending_for(host.id)) {
        wire::VmAction action = wire_action(a);
        // A VM being defined gets its guest agent's settings (as SMBIOS OEM strings).
        const bool defines = a.part == MovePart::receive ||
                             (a.part == MovePart::none && a.step.kind == reconcile::ActionKind::create);
        if (defines) action.vm.guest = guest_line(ctx, a.vm.name);
        answer.actions.push_back(wire::encode(action));
    }
    auto catalog = ctx.template_lists->get(ctx.store);
    if (!catalog) return status_response(req, catalog.status());
    const auto hot = hot_templates(**catalog, ctx.store.now(), ctx.config.template_cool_down);
    answer.templates = hot_templates_json(
        hot, [&](const Template& t) { return ctx.orchestrator.template_delta(t, host.rack); },
        ctx.config.template_cool_down, ctx.orchestrator.pubkey_pem());
    return json_response(req, status::ok, wire::encode(answer));
}

// A cold move's disk is deleted from the server once its move has ended.
Response agent_answer(ApiContext& ctx, DiskTransfers& disks, const Request& req, const Host& host,
                      const std::string& action, const json& body) {
    ActionId id = 0;
    if (action.empty() || std::from_chars(action.data(), action.data() + action.size(), id).ptr !=
                              action.data() + action.size())
        return invalid_argument_response(req, "the action id must be a number");
    // The action may have been queued, or handed out, by another server sharing the store.
    if (Status s = ctx.vms.sync_actions(ctx.store.now(), true); !s)
        return status_response(req, s);
    auto owner = ctx.vms.action_host(id);
    if (!owner)
        return status_response(req,
                               Status::error(Code::not_found, "no action " + std::to_string(id)));
    if (*owner != host.id)
        return error_response(req, status::forbidden, "forbidden",
                              "action " + std::to_string(id) + " belongs to another host");
    auto answer = wire::decode<wire::ActionAnswer>(body);
    if (!answer) return status_response(req, answer.status());
    if (Status s = ctx.vms.answer(id, answer->ok, answer->error); !s)
        return status_response(req, s);
    for (const std::string& transfer : ctx.vms.take_ended_transfers()) disks.remove(transfer);
    return imaging::http::make_response(req, status::no_content, "");
}

}  // namespace

namespace handlers {

Reply site_diff(ApiContext& ctx, const Call& c) { return server::site_diff(ctx, c.req); }
Reply site_apply(ApiContext& ctx, const Call& c) { return server::site_apply(ctx, c.req); }
Reply site_status(ApiContext& ctx, const Call& c) { return server::site_status(ctx, c.req); }
Reply list_vms(ApiContext& ctx, const Call& c) { return server::list_vms(ctx, c.req); }
Reply recall_vms(ApiContext& ctx, const Call& c) { return recall(ctx, c.req); }
Reply vm_guest(ApiContext& ctx, const Call& c) {
    return server::vm_guest(ctx, c.req, c.param("vm"));
}
Reply guest_report(ApiContext& ctx, const Call& c) { return server::guest_report(ctx, c.req); }
Reply agent_vms(ApiContext& ctx, const Call& c) {
    return server::agent_vms(ctx, c.req, *c.host);  // Body::raw: read_report reads it
}
Reply agent_action(ApiContext& ctx, const Call& c) {
    return agent_answer(ctx, *ctx.disks, c.req, *c.host, c.param("action"), c.body);
}

}  // namespace handlers

}  // namespace provisioner::server
