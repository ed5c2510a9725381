// The API's JSON shapes for site and VM endpoints (provisioner/API.md, "Site and VMs"): Step,
// VmAction, Vm, and reading an agent's VM report.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "provisioner/reconcile.h"
#include "provisioner/status.h"
#include "provisioner/wire/dom0.h"
#include "provisioner/wire/host_metrics.h"
#include "provisioner/wire/vm_action.h"
#include "vm_registry.h"

namespace provisioner::server {

// {"kind", "vm", "host", "from_host", "vcpus", "memory_mib", "image", "reason"}
nlohmann::json step_json(const reconcile::Action& step);
// The action as its agent gets it (wire/vm_action.h): a cold move's part has its own kind
// (move_send, ...) and the transfer; a migration its to_uri.
wire::VmAction wire_action(const VmAction& action);
// wire::encode(wire_action(action)).
nlohmann::json action_json(const VmAction& action);
// Step + {"action", "state", "error", "part"?}
nlohmann::json apply_step_json(const VmAction& action);
// {"name", "vcpus", "memory_mib", "template", "state"}
nlohmann::json vm_json(const ReportedVm& vm);

// A POST /api/v1/agent/vms report, decoded: its capacity (load clamped to [0, 1]), VMs and
// templates into report (host fields untouched), its host metrics into metrics (empty when
// it has none), and the VMs as the wire has them (with their libvirt metrics) into vms.
void read_vm_report(wire::Dom0Report decoded, HostReport& report,
                    std::optional<wire::HostMetrics>& metrics, std::vector<wire::ReportedVm>& vms);

}  // namespace provisioner::server
