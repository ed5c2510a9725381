// The trunk's VLAN ports in user space, for a kernel without 802.1Q (CONFIG_VLAN_8021Q unset,
// as on the machine the e2e tests run on, whose kernel has no bridge VLAN filtering nor tc's
// vlan action either): VLAN N's port is a TAP device, pvvlN, in N's bridge; what the bridge
// sends it leaves on the trunk tagged N, and what arrives on the trunk tagged N goes into the
// bridge untagged through it. Frames on the wire are the same as with the kernel's
// sub-interface. One thread serves every port; the ports live as long as this object (the
// TAP devices go with their descriptors), so an agent restarting makes them again
// (VlanBridges::restore). The kernel's way is taken wherever it exists.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
#include "provisioner/status.h"

namespace provisioner::agent {

// FRAME (destination and source MAC, then the rest) with an 802.1Q tag (TPID 0x8100, priority
// 0, VLAN vid) after the two MACs. Empty for a frame shorter than 14 bytes.
std::string tag_frame(std::string_view frame, std::uint16_t vid);

struct UntaggedFrame {
    std::uint16_t vid = 0;
    std::string frame;  // without its tag
};

// A frame from the trunk as its VLAN's port should see it: the kernel moves a received tag
// into the packet's metadata (aux_vid, when it says the tag is valid), or the tag is still in
// the frame (TPID 0x8100 after the MACs). nullopt for an untagged frame (the Dom0's own
// traffic), VLAN 0 (priority tagging) and anything shorter than an Ethernet header.
std::optional<UntaggedFrame> untag_frame(std::string_view frame,
                                         std::optional<std::uint16_t> aux_vid);

class VlanTrunk {
  public:
    // A packet socket on trunk (must exist) and the serving thread. Errors name the trunk and
    // the system call.
    static Result<std::unique_ptr<VlanTrunk>> open(const std::string& trunk);
    ~VlanTrunk();
    VlanTrunk(const VlanTrunk&) = delete;
    VlanTrunk& operator=(const VlanTrunk&) = delete;

    // VLAN vid's port: a TAP device named port (made here, down and in no bridge; the caller
    // plugs it in). ok when vid already has it. Thread-safe.
    Status add_port(std::uint16_t vid, const std::string& port);
    bool has_port(std::uint16_t vid) const;
    // Closes VLAN vid's port, and its TAP device goes with it; nothing when vid has none.
    // Returns once the serving thread has let go of it. Thread-safe.
    void remove_port(std::uint16_t vid);

  private:
    VlanTrunk(base::UniqueFd packet, base::UniqueFd wake, int ifindex);
    void serve();
    void stop_serving();  // with mutex_ held: the thread's last act
    void from_trunk();
    void from_port(std::uint16_t vid, int fd);

    base::UniqueFd packet_, wake_;
    int ifindex_;
    mutable std::mutex mutex_;
    std::map<std::uint16_t, base::UniqueFd> ports_;  // by VLAN id; guarded by mutex_
    // Removed ports, closed by the serving thread between two polls; guarded by mutex_.
    std::vector<base::UniqueFd> retired_;
    std::condition_variable retired_closed_;
    bool stopping_ = false;  // guarded by mutex_
    bool serving_ = true;    // the thread runs; guarded by mutex_
    std::thread thread_;
};

}  // namespace provisioner::agent
