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

// What a failed start does with the VM's disk: a disk just made goes with it; a kept one (a
// VM defined again on its own disk, restore_vm) holds the guest's data and stays.
enum class OnFailure { remove_disk, keep_disk };

// Defines and starts SPEC, whose disk is made, and records it (with TEMPLATE_REF and the spec,
// its uuid as the hypervisor gave it) in the registry; on failure no domain is left, nor the
// disk with remove_disk. create and move_receive end so, and restore_vm.
// With host.bridge set, interfaces on the untagged network join that bridge instead; with
// host.vlans, an interface with a VLAN joins that VLAN's bridge (made first if missing).
Status start_and_record(VmHost& host, const vmhost::VmSpec& spec, const std::string& template_ref,
                        OnFailure on_failure = OnFailure::remove_disk);

// What restore_vm did with a managed VM whose domain is gone.
enum class Restored {
    restarted,  // defined and started again on its kept disk
    dropped,    // its disk is gone too: the record is forgotten, the server's create makes it
    no_spec,    // a record without its spec (an older vms.json), and none given: left as it is
};

// Defines and starts again the managed VM NAME, whose domain is gone, on its kept disk, with
// GIVEN (the server's create action's spec; its disk is ignored) or else the spec its record
// keeps; the record's uuid is kept when GIVEN has none. Never deletes the disk. An error
// when the start fails (the record and the disk stay, for the next try).
Result<Restored> restore_vm(VmHost& host, const std::string& name,
                            const vmhost::VmSpec* given = nullptr);

// After a VM has left this host (removed, moved or migrated away) or failed to start: each of
// vlans that no VM in the registry is on any more loses its bridge, when no interface is in it
// (VlanBridges::release). A failure is logged: the VM's own action has succeeded or failed
// already.
void release_vlans(VmHost& host, const std::vector<std::uint16_t>& vlans);

Status move_send(const VmAction& action, VmHost& host);
Status move_receive(const VmAction& action, VmHost& host);
Status move_abort(const VmAction& action, VmHost& host);

}  // namespace provisioner::agent
