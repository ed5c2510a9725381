// The VM actions provisionerd hands a Dom0 agent (provisioner/API.md, "Site and VMs"): the
// VmAction JSON as a value, and how each kind is carried out on this host through the
// template store, the hypervisor and the registry of managed VMs.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "provisioner/agent/disk_transfer.h"
#include "provisioner/agent/template_fetch.h"
#include "provisioner/agent/vlan_bridges.h"
#include "provisioner/agent/vm_registry.h"
#include "provisioner/status.h"
#include "provisioner/vmhost/hypervisor.h"
#include "provisioner/vmhost/process.h"
#include "provisioner/vmhost/template_store.h"
#include "provisioner/vmhost/vm_spec.h"
#include "provisioner/wire/dom0.h"
#include "provisioner/wire/vm_action.h"

namespace provisioner::agent {

// wire::VmAction (provisioner/wire/vm_action.h) as this host carries it out.
struct VmAction {
    using Kind = wire::VmAction::Kind;  // move_*: the parts of a cold move (API.md, "Moving a VM")
    std::int64_t id = 0;
    Kind kind = Kind::create;
    vmhost::VmSpec vm;         // name, vcpus, memory_mib, interfaces; the disk comes later
    std::string template_ref;  // create: the reference the overlay is made from
    std::string to_uri;        // migrate: the destination's libvirt URI
    std::string transfer;      // move_*: the server's id for the VM's disk in transit
};

using wire::to_string;

// decode<wire::VmAction> (invalid_argument names the first missing or bad field), then the
// spec: an interface with neither network nor bridge is on libvirt's "default" network, and
// vm.guest's words become SMBIOS OEM strings.
Result<VmAction> parse_vm_action(const nlohmann::json& action);

// What the actions work on; all must outlive the calls.
struct VmHost {
    vmhost::Hypervisor& hypervisor;
    vmhost::TemplateStore& templates;
    VmRegistry& registry;                         // its directory holds the overlay disks
    vmhost::ProcessRunner& qemu_img;              // runs qemu-img to read a disk's backing file
    ServerTemplates* server_templates = nullptr;  // fetches what the store lacks; none: local only
    ServerDisks* server_disks = nullptr;  // a cold move's disk in transit; none: no cold moves
    // How long move_send waits for a guest to shut down before powering it off.
    std::chrono::milliseconds shutdown_wait{60'000};
    // The host bridge that VMs' interfaces on the hosts' untagged network join; empty: they
    // join libvirt's network of that name (kUntaggedNetwork), which the host must define.
    std::string bridge{};
    // Where an interface with a VLAN (a site network's) goes: that VLAN's bridge on the trunk
    // (vlan_bridges.h), made when missing. None: the libvirt network of the site network's name,
    // with a <vlan> tag, which libvirt honours only on Open vSwitch.
    VlanBridges* vlans = nullptr;
};

// The libvirt network a VM's interface on the hosts' untagged network (no site network) is
// given: libvirt's own "default".
inline constexpr const char* kUntaggedNetwork = "default";

// create: the template fetched from the server when the store lacks it (and the host has
// server_templates), an overlay of it at the registry's disk path, then the domain; on any
// failure neither the overlay nor the domain is left behind. A create for a VM the registry
// holds whose domain is gone defines it again on its kept disk with the action's spec (as
// restore_missing_vms; its data kept, the disk never deleted), or, when that disk is gone
// too, forgets it and creates it afresh. When its domain exists: ok if the registry made it
// from the same template reference (defined again on its disk before this action came),
// else conflict. remove: the domain and its
// overlay (ok when the domain is already gone). reconfigure: vCPUs and memory; a change that
// only reaches the persistent config (beyond the domain's boot-time maximum) is ok and
// recorded as pending. migrate: live, copying the overlay; the destination must hold the
// template at the same path. move_send: the VM shut down (powered off after shutdown_wait)
// and its overlay uploaded; on failure it is started again. move_receive: the template
// ensured, the overlay downloaded and pointed at this host's copy of it, the VM defined and
// started with the action's spec; on failure nothing is left behind. move_finish: the
// shut-off VM undefined and its overlay deleted. move_abort: the VM started again. Every
// action but create and move_receive refuses (not_found) a VM this agent does not manage.
// With vlans, a VLAN's bridge goes when the last VM on it here is removed, migrated or moved
// away, or fails to start (VlanBridges::release).
Status carry_out(const VmAction& action, VmHost& host);

// The VMs of POST /api/v1/agent/vms: each managed domain the hypervisor has, with a pending
// resize's values and restart_pending while one waits for the domain's next start, and its
// libvirt metrics (vm_metrics.h) when the hypervisor gives its statistics. A domain that is not
// in the registry but has a disk in the registry's directory (migrated here from another host)
// is adopted first, with the template its overlay is backed by ("" when none in the store).
Result<std::vector<wire::ReportedVm>> managed_vms(VmHost& host);
// The same from a list of the hypervisor's domains already taken.
Result<std::vector<wire::ReportedVm>> managed_vms(VmHost& host,
                                                  const std::vector<vmhost::DomainInfo>& domains);

// What became of one managed VM whose domain was gone.
struct VmRestore {
    enum class Outcome {
        restarted,  // defined and started again on its kept disk, with its kept spec
        dropped,    // its disk was gone too: forgotten, so that the server's create makes it
        waiting,    // a record without a spec (an older vms.json): the server's create does it
        failed,     // defining or starting it failed: record and disk kept, tried next time
    };
    std::string name;
    Outcome outcome = Outcome::failed;
    std::string detail;  // a line for the log, from "its domain ..." on
};

// Each VM of the registry that is not among domains (the hypervisor's, just listed) is
// defined and started again on its kept disk with the spec its record keeps, persistent and
// autostarted; its disk is never deleted here. If its disk is gone too, its record is
// dropped (and its VLANs' bridges released when no other VM is on them). Needs no server:
// the Dom0 loop runs it before each report, so a Dom0's VMs come back after a reboot or an
// agent restart while no server answers (issue 20 item 5).
std::vector<VmRestore> restore_missing_vms(VmHost& host,
                                           const std::vector<vmhost::DomainInfo>& domains);

}  // namespace provisioner::agent
