// EDIV's VLAN networks on a Dom0 (issue 19): a VM's interface on a site network with VLAN N
// joins a Linux bridge of the host, pvbrN, whose other port is pvvlN, the trunk's 802.1Q
// sub-interface for VLAN N. Frames leave the host on the trunk tagged N and arrive untagged in
// the VM; VMs on VLAN N of every host share one Ethernet, and nothing connects two VLANs.
//
// Why a bridge per VLAN on a sub-interface, and not one VLAN-aware bridge (vlan_filtering with
// a PVID per VM port) nor libvirt's <vlan> element: libvirt honours <vlan> only on Open
// vSwitch, and on a Linux bridge it plugs the VM's tap in with no VLAN of its own, so a
// VLAN-aware bridge would need the agent to set each tap's PVID after every start of the
// domain (libvirt's own restarts included), the tap sitting in the bridge's default VLAN until
// it did. Here libvirt attaches the tap to the VLAN's bridge at every start from the domain's
// definition alone: a tap is in one bridge, and that bridge carries one VLAN, so isolation
// needs no later step. The cost, two net devices per VLAN in use on the host, is small for the
// dozens of networks a site has (4094 at most).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "provisioner/agent/vlan_trunk.h"
#include "provisioner/status.h"
#include "provisioner/vmhost/process.h"

namespace provisioner::agent {

// "pvbr10", "pvvl10": the names this host gives VLAN 10's bridge and sub-interface.
std::string vlan_bridge_name(std::uint16_t vid);
std::string vlan_port_name(std::uint16_t vid);

// Makes VLAN bridges on one trunk with `ip` (iproute2) run by a ProcessRunner. Where the
// kernel has no 802.1Q, each VLAN's port is served in user space instead (vlan_trunk.h), for as
// long as this object lives. Not thread-safe; the runner must outlive it.
class VlanBridges {
  public:
    // user_space: serve the ports in user space where the kernel has no 802.1Q (false: refuse,
    // as ensure says).
    VlanBridges(std::string trunk, vmhost::ProcessRunner& ip, bool user_space = true);
    ~VlanBridges();

    const std::string& trunk() const { return trunk_; }

    // The bridge for VLAN vid, up, with the trunk's sub-interface for vid as its port: made
    // where missing, kept where already right (an agent restart, a second VM on the VLAN).
    // invalid_argument for vid outside 1..4094; conflict when a device of either name exists
    // but is something else (another VLAN or parent, not a bridge); not_found when the trunk
    // does not exist; error naming CONFIG_VLAN_8021Q when the kernel has no 802.1Q (module
    // 8021q) and user space is off; error with ip's or the system's message for any other
    // failure.
    Result<std::string> ensure(std::uint16_t vid);

    // ensure() again for every VLAN bridge (pvbrN) the host has: at the agent's start, so the
    // VLANs of VMs that ran on meanwhile are served again. The VLANs it could not serve, with
    // why; empty when all are.
    std::vector<std::string> restore();

    // Removes VLAN vid's bridge and its port when no other device is in the bridge (the last
    // VM on the VLAN has left this host): true when it removed them, false when a VM's
    // interface is still in the bridge or there is no bridge. invalid_argument for vid outside
    // 1..4094; error with ip's message for a failure.
    Result<bool> release(std::uint16_t vid);

  private:
    Result<std::string> run(const std::vector<std::string>& argv);
    Status add_user_space_port(std::uint16_t vid);

    std::string trunk_;
    vmhost::ProcessRunner& ip_;
    bool user_space_;
    std::unique_ptr<VlanTrunk> user_trunk_;  // made at the first port served in user space
};

}  // namespace provisioner::agent
