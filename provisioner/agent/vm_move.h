// The parts of a cold move (provisioner/API.md, "Moving a VM"), private to vm_actions: the
// server orders them across the two hosts (VmRegistry's `after`), so each part here only
// assumes the one before it has been answered ok. Contracts as carry_out states them.
#pragma once

#include <filesystem>
#include <string>

#include "provisioner/agent/vm_actions.h"

namespace provisioner::agent {

// ok when this agent manages the action's VM, else not_found naming it.
Status managed(const VmAction& action, const VmHost& host);

// Removes a disk file; a file already gone is fine.
void remove_file(const std::filesystem::path& path);

// Defines and starts SPEC, whose disk is made, and records it (with TEMPLATE_REF) in the
// registry; on failure neither the domain nor the disk is left. create and move_receive end so.
// With host.bridge set, interfaces on the untagged network join that bridge instead; with
// host.vlans, an interface with a VLAN joins that VLAN's bridge (made first if missing).
Status start_and_record(VmHost& host, const vmhost::VmSpec& spec, const std::string& template_ref);

// After a VM has left this host (removed, moved or migrated away) or failed to start: each of
// vlans that no VM in the registry is on any more loses its bridge, when no interface is in it
// (VlanBridges::release). A failure is logged: the VM's own action has succeeded or failed
// already.
void release_vlans(VmHost& host, const std::vector<std::uint16_t>& vlans);

Status move_send(const VmAction& action, VmHost& host);
Status move_receive(const VmAction& action, VmHost& host);
Status move_abort(const VmAction& action, VmHost& host);

}  // namespace provisioner::agent
