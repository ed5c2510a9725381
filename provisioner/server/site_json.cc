#include "site_json.h"

#include "provisioner/wire/dom0.h"

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

wire::VmAction wire_action(const VmAction& action) {
    wire::VmAction out;
    out.id = std::int64_t(action.id);
    if (action.part != MovePart::none) {
        const std::string kind = to_string(action.part);
        for (auto k : {wire::VmAction::Kind::move_send, wire::VmAction::Kind::move_receive,
                       wire::VmAction::Kind::move_finish, wire::VmAction::Kind::move_abort})
            if (kind == wire::to_string(k)) out.kind = k;
        out.transfer = action.transfer;
    } else {
        switch (action.step.kind) {
            case reconcile::ActionKind::create: out.kind = wire::VmAction::Kind::create; break;
            case reconcile::ActionKind::remove: out.kind = wire::VmAction::Kind::remove; break;
            case reconcile::ActionKind::reconfigure:
                out.kind = wire::VmAction::Kind::reconfigure;
                break;
            case reconcile::ActionKind::migrate:
                out.kind = wire::VmAction::Kind::migrate;
                out.to_uri = action.to_uri;
                break;
        }
    }
    out.vm.name = action.vm.name;
    out.vm.vcpus = action.vm.vcpus;
    out.vm.memory_mib = action.vm.memory_mib;
    out.vm.template_ref = action.vm.template_ref;
    for (const VmInterfaceSpec& i : action.vm.interfaces)
        out.vm.interfaces.push_back({i.mac, i.network, "", i.vlan});
    return out;
}

json action_json(const VmAction& action) {
    return wire::encode(wire_action(action));
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
    json out = {{"name", vm.name},
                {"vcpus", vm.vcpus},
                {"memory_mib", vm.memory_mib},
                {"template", vm.template_ref},
                {"state", vm.state}};
    if (!vm.domain_type.empty()) out["domain_type"] = vm.domain_type;
    if (vm.restart_pending) out["restart_pending"] = true;
    return out;
}

void read_vm_report(wire::Dom0Report decoded, HostReport& report,
                    std::optional<wire::HostMetrics>& metrics,
                    std::vector<wire::ReportedVm>& wire_vms) {
    VmCapacity c = std::move(decoded.capacity);
    c.load = std::clamp(c.load, 0.0, 1.0);
    std::vector<ReportedVm> vms;
    vms.reserve(decoded.vms.size());
    for (const wire::ReportedVm& vm : decoded.vms)
        vms.push_back(
            {vm.name, vm.vcpus, vm.memory_mib, vm.template_ref, vm.state, vm.domain_type,
             vm.restart_pending});
    report.capacity = std::move(c);
    report.vms = std::move(vms);
    report.templates = std::move(decoded.templates);
    metrics = std::move(decoded.metrics);
    wire_vms = std::move(decoded.vms);
}

}  // namespace provisioner::server
