// How VmRegistry's records are kept in the store (server_state.h): one VmActionRow per action,
// one VmApplyRow per apply, one HostReportRow per reporting host. The bodies are this file's
// own JSON, not the wire contract's: they change only with a store migration, never with the
// API.
#pragma once

#include "provisioner/server_state.h"
#include "provisioner/status.h"
#include "vm_registry.h"

namespace provisioner::server {

VmActionRow action_row(const VmAction& action);
// storage for a row whose body does not read (a damaged or foreign store).
Result<VmAction> action_from_row(const VmActionRow& row);

std::string report_body(const HostReport& report);  // all but host and reported_at
Result<HostReport> report_from_row(const HostReportRow& row);

Result<ActionState> parse_action_state(const std::string& text);

}  // namespace provisioner::server
