#include "vm_registry_rows.h"

#include <nlohmann/json.hpp>

namespace provisioner::server {

using nlohmann::json;

namespace {

Status damaged(const std::string& what, const std::string& why) {
    return Status::error(Code::storage, "the stored " + what + " does not read: " + why);
}

Result<reconcile::ActionKind> parse_kind(const std::string& text) {
    for (auto k : {reconcile::ActionKind::create, reconcile::ActionKind::remove,
                   reconcile::ActionKind::reconfigure, reconcile::ActionKind::migrate})
        if (text == reconcile::to_string(k)) return k;
    return Status::error(Code::storage, "unknown step kind " + text);
}

Result<MovePart> parse_part(const std::string& text) {
    for (auto p :
         {MovePart::none, MovePart::send, MovePart::receive, MovePart::finish, MovePart::abort})
        if (text == to_string(p)) return p;
    return Status::error(Code::storage, "unknown move part " + text);
}

json spec_json(const VmSpec& vm) {
    json interfaces = json::array();
    for (const VmInterfaceSpec& i : vm.interfaces)
        interfaces.push_back({{"mac", i.mac}, {"network", i.network}, {"vlan", i.vlan}});
    return {{"name", vm.name},
            {"vcpus", vm.vcpus},
            {"memory_mib", vm.memory_mib},
            {"template", vm.template_ref},
            {"interfaces", interfaces}};
}

VmSpec spec_of(const json& j) {
    VmSpec vm{j.at("name").get<std::string>(),
              j.at("vcpus").get<std::uint32_t>(),
              j.at("memory_mib").get<std::uint64_t>(),
              j.at("template").get<std::string>(),
              {}};
    for (const json& i : j.at("interfaces"))
        vm.interfaces.push_back({i.at("mac").get<std::string>(), i.at("network").get<std::string>(),
                                 i.at("vlan").get<std::uint16_t>()});
    return vm;
}

}  // namespace

Result<ActionState> parse_action_state(const std::string& text) {
    for (auto s : {ActionState::waiting, ActionState::released, ActionState::done,
                   ActionState::failed, ActionState::skipped})
        if (text == to_string(s)) return s;
    return Status::error(Code::storage, "unknown action state " + text);
}

VmActionRow action_row(const VmAction& a) {
    const reconcile::Action& s = a.step;
    json body = {{"step",
                  {{"kind", reconcile::to_string(s.kind)},
                   {"vm", s.vm},
                   {"host", s.host},
                   {"from_host", s.from_host},
                   {"vcpus", s.vcpus},
                   {"memory_mib", s.memory_mib},
                   {"image", s.image},
                   {"reason", s.reason}}},
                 {"part", to_string(a.part)},
                 {"vm", spec_json(a.vm)},
                 {"to_uri", a.to_uri},
                 {"transfer", a.transfer},
                 {"after", a.after},
                 {"error", a.error}};
    return {std::int64_t(a.id), std::int64_t(a.apply), a.host, to_string(a.state),
            body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

Result<VmAction> action_from_row(const VmActionRow& row) {
    const std::string what = "VM action " + std::to_string(row.id);
    try {
        json body = json::parse(row.body);
        VmAction a;
        a.id = ActionId(row.id);
        a.apply = ApplyId(row.apply);
        a.host = row.host;
        auto state = parse_action_state(row.state);
        if (!state) return damaged(what, state.status().message());
        a.state = *state;
        const json& s = body.at("step");
        auto kind = parse_kind(s.at("kind").get<std::string>());
        if (!kind) return damaged(what, kind.status().message());
        a.step = {*kind,
                  s.at("vm").get<std::string>(),
                  s.at("host").get<std::string>(),
                  s.at("from_host").get<std::string>(),
                  s.at("vcpus").get<std::uint32_t>(),
                  s.at("memory_mib").get<std::uint64_t>(),
                  s.at("image").get<std::string>(),
                  s.at("reason").get<std::string>()};
        auto part = parse_part(body.at("part").get<std::string>());
        if (!part) return damaged(what, part.status().message());
        a.part = *part;
        a.vm = spec_of(body.at("vm"));
        a.to_uri = body.at("to_uri").get<std::string>();
        a.transfer = body.at("transfer").get<std::string>();
        a.after = body.at("after").get<std::vector<ActionId>>();
        a.error = body.at("error").get<std::string>();
        return a;
    } catch (const json::exception& e) {
        return damaged(what, e.what());
    }
}

std::string report_body(const HostReport& r) {
    json vms = json::array();
    for (const ReportedVm& vm : r.vms) {
        vms.push_back({{"name", vm.name},
                       {"vcpus", vm.vcpus},
                       {"memory_mib", vm.memory_mib},
                       {"template", vm.template_ref},
                       {"state", vm.state},
                       {"domain_type", vm.domain_type}});
        if (vm.restart_pending) vms.back()["restart_pending"] = true;
    }
    const VmCapacity& c = r.capacity;
    json body = {{"name", r.name},
                 {"ip", r.ip},
                 {"capacity",
                  {{"vcpus", c.vcpus},
                   {"memory_mib", c.memory_mib},
                   {"load", c.load},
                   {"reserved_vcpus", c.reserved_vcpus},
                   {"reserved_memory_mib", c.reserved_memory_mib},
                   {"libvirt_uri", c.libvirt_uri},
                   {"live_migration", c.live_migration}}},
                 {"vms", vms}};
    if (!r.missing.empty()) {
        json missing = json::array();
        for (const MissingVm& m : r.missing)
            missing.push_back({{"name", m.name}, {"last_state", m.last_state}, {"since", m.since}});
        body["missing"] = std::move(missing);
    }
    if (!r.templates.empty()) body["templates"] = r.templates;
    return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<HostReport> report_from_row(const HostReportRow& row) {
    try {
        json body = json::parse(row.body);
        HostReport r;
        r.host = row.host;
        r.reported_at = row.reported_at;
        r.name = body.at("name").get<std::string>();
        r.ip = body.at("ip").get<std::string>();
        const json& c = body.at("capacity");
        r.capacity = {c.at("vcpus").get<std::uint32_t>(),
                      c.at("memory_mib").get<std::uint64_t>(),
                      c.at("load").get<double>(),
                      c.at("reserved_vcpus").get<std::uint32_t>(),
                      c.at("reserved_memory_mib").get<std::uint64_t>(),
                      c.at("libvirt_uri").get<std::string>(),
                      c.at("live_migration").get<bool>()};
        for (const json& vm : body.at("vms"))
            r.vms.push_back({vm.at("name").get<std::string>(), vm.at("vcpus").get<std::uint32_t>(),
                             vm.at("memory_mib").get<std::uint64_t>(),
                             vm.at("template").get<std::string>(),
                             vm.at("state").get<std::string>(),
                             // absent from rows stored before it was reported
                             vm.value("domain_type", std::string()),
                             vm.value("restart_pending", false)});
        for (const json& m : body.value("missing", json::array()))  // absent: none flagged
            r.missing.push_back({m.at("name").get<std::string>(),
                                 m.at("last_state").get<std::string>(),
                                 m.at("since").get<Timestamp>()});
        for (const json& t : body.value("templates", json::array()))  // absent: none reported
            r.templates.push_back(t.get<std::string>());
        return r;
    } catch (const json::exception& e) {
        return damaged("report of host " + std::to_string(row.host), e.what());
    }
}

}  // namespace provisioner::server
