#include "site_json.h"

#include <algorithm>

namespace provisioner::server {

using nlohmann::json;

json step_json(const reconcile::Action& step) {
    return {{"kind", reconcile::to_string(step.kind)},
            {"vm", step.vm},
            {"host", step.host},
            {"from_host", step.from_host},
            {"vcpus", step.vcpus},
            {"memory_mib", step.memory_mib},
            {"image", step.image},
            {"reason", step.reason}};
}

json action_json(const VmAction& action) {
    json interfaces = json::array();
    for (const VmInterfaceSpec& i : action.vm.interfaces)
        interfaces.push_back({{"mac", i.mac}, {"network", i.network}, {"vlan", i.vlan}});
    const bool part = action.part != MovePart::none;
    json out = {{"id", action.id},
                {"kind", part ? to_string(action.part) : reconcile::to_string(action.step.kind)},
                {"vm",
                 {{"name", action.vm.name},
                  {"vcpus", action.vm.vcpus},
                  {"memory_mib", action.vm.memory_mib},
                  {"template", action.vm.template_ref},
                  {"interfaces", interfaces}}}};
    if (part) {
        out["transfer"] = action.transfer;
    } else if (action.step.kind == reconcile::ActionKind::migrate) {
        out["to_uri"] = action.to_uri;
    }
    return out;
}

json apply_step_json(const VmAction& action) {
    json out = step_json(action.step);
    out["action"] = action.id;
    if (action.part != MovePart::none) out["part"] = to_string(action.part);
    out["state"] = to_string(action.state);
    out["error"] = action.error;
    return out;
}

json vm_json(const ReportedVm& vm) {
    return {{"name", vm.name},
            {"vcpus", vm.vcpus},
            {"memory_mib", vm.memory_mib},
            {"template", vm.template_ref},
            {"state", vm.state}};
}

namespace {

Status bad(const std::string& what) {
    return Status::error(Code::invalid_argument, "vms report: " + what);
}

std::string string_or_empty(const json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

template <class T>
bool read_unsigned(const json& object, const char* key, T& out, bool required) {
    auto it = object.find(key);
    if (it == object.end()) return !required;
    if (!it->is_number_unsigned()) return false;
    out = it->get<T>();
    return true;
}

}  // namespace

Status read_vm_report(const json& body, HostReport& report) {
    auto capacity = body.find("capacity");
    if (capacity == body.end() || !capacity->is_object()) return bad("needs a capacity object");
    VmCapacity c;
    if (!read_unsigned(*capacity, "vcpus", c.vcpus, true) ||
        !read_unsigned(*capacity, "memory_mib", c.memory_mib, true) ||
        !read_unsigned(*capacity, "reserved_vcpus", c.reserved_vcpus, false) ||
        !read_unsigned(*capacity, "reserved_memory_mib", c.reserved_memory_mib, false))
        return bad(
            "capacity needs vcpus and memory_mib (and optional reserved_vcpus, "
            "reserved_memory_mib) as non-negative integers");
    if (auto load = capacity->find("load"); load != capacity->end()) {
        if (!load->is_number()) return bad("capacity.load must be a number");
        c.load = std::clamp(load->get<double>(), 0.0, 1.0);
    }
    c.libvirt_uri = string_or_empty(*capacity, "libvirt_uri");
    if (auto live = capacity->find("live_migration"); live != capacity->end()) {
        if (!live->is_boolean()) return bad("capacity.live_migration must be true or false");
        c.live_migration = live->get<bool>();
    }

    std::vector<ReportedVm> vms;
    auto list = body.find("vms");
    if (list != body.end() && !list->is_null()) {
        if (!list->is_array()) return bad("vms must be an array");
        for (const json& v : *list) {
            if (!v.is_object()) return bad("every vm must be an object");
            ReportedVm vm;
            auto name = v.find("name");
            if (name == v.end() || !name->is_string() || name->get<std::string>().empty())
                return bad("every vm needs a name");
            vm.name = name->get<std::string>();
            if (!read_unsigned(v, "vcpus", vm.vcpus, false) ||
                !read_unsigned(v, "memory_mib", vm.memory_mib, false))
                return bad("vm " + vm.name +
                           ": vcpus and memory_mib must be non-negative integers");
            vm.template_ref = string_or_empty(v, "template");
            vm.state = string_or_empty(v, "state");
            vms.push_back(std::move(vm));
        }
    }
    report.capacity = std::move(c);
    report.vms = std::move(vms);
    return Status::ok();
}

}  // namespace provisioner::server
