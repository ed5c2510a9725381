// The API's JSON shapes for site and VM endpoints (provisioner/API.md, "Site and VMs"): Step,
// VmAction, Vm, and reading an agent's VM report.
#pragma once

#include <nlohmann/json.hpp>

#include "provisioner/reconcile.h"
#include "provisioner/status.h"
#include "vm_registry.h"

namespace provisioner::server {

// {"kind", "vm", "host", "from_host", "vcpus", "memory_mib", "image", "reason"}
nlohmann::json step_json(const reconcile::Action& step);
// {"id", "kind", "vm": {...}, "to_uri"?, "transfer"?}; a cold move's part has its own kind
// (move_send, ...) and the transfer.
nlohmann::json action_json(const VmAction& action);
// Step + {"action", "state", "error", "part"?}
nlohmann::json apply_step_json(const VmAction& action);
// {"name", "vcpus", "memory_mib", "template", "state"}
nlohmann::json vm_json(const ReportedVm& vm);

// The capacity and VMs of a POST /api/v1/agent/vms body, into report (host fields untouched);
// invalid_argument naming the bad field.
Status read_vm_report(const nlohmann::json& body, HostReport& report);

}  // namespace provisioner::server
