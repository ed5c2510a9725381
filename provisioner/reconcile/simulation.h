// The hosts and VMs of an ActualState as a plan changes them, one action at a time, refusing
// any action that does not fit. Private to reconcile.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "provisioner/reconcile.h"

namespace provisioner::reconcile {

class Simulation {
  public:
    struct Placed {
        int host = -1;
        std::uint32_t vcpus = 0;
        std::uint64_t memory_mib = 0;
        std::string image;
    };

    // Fails on a host reported twice or a VM reported on two hosts.
    static Result<Simulation> from(const ActualState& actual);

    // Index of the host with this name or address, or -1.
    int host(std::string_view id) const;
    const std::string& host_name(int h) const { return hosts_[h].name; }
    const Placed* find(const std::string& vm) const;
    const std::unordered_map<std::string, Placed>& vms() const { return vms_; }
    // Whether `host` can take this much more without going over its capacity.
    bool has_room(int h, std::uint64_t vcpus, std::uint64_t memory_mib) const;

    // Applies one action, or says why it cannot run from this state (and changes nothing).
    Status apply(const Action& action);

    struct HostUse {
        std::string name;
        std::string address;
        std::uint64_t vcpus = 0, memory_mib = 0;                    // capacity
        std::uint64_t reserved_vcpus = 0, reserved_memory_mib = 0;  // not ours
        std::uint64_t used_vcpus = 0, used_memory_mib = 0;          // reserved + VMs
    };
    int host_count() const { return static_cast<int>(hosts_.size()); }
    const HostUse& host_use(int h) const { return hosts_[h]; }

  private:
    Status check_growth(int h, std::uint64_t old_vcpus, std::uint64_t old_memory,
                        std::uint64_t new_vcpus, std::uint64_t new_memory,
                        const Action& action) const;
    void use(int h, std::int64_t vcpus, std::int64_t memory_mib);

    std::vector<HostUse> hosts_;
    std::unordered_map<std::string, int> host_index_;
    std::unordered_map<std::string, Placed> vms_;
};

// "create web1 on h1 (2 vcpus, 2048 MiB)", without the reason.
std::string action_text(const Action& action);

}  // namespace provisioner::reconcile
