// What each host has and has been given so far, during one placement. Private to placement.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "provisioner/placement.h"
#include "provisioner/status.h"

namespace provisioner::placement {

struct Demand {
    std::uint64_t vcpus = 0;
    std::uint64_t memory_mib = 0;
};

class Ledger {
  public:
    // Fails on an empty or repeated host identity (a name or address used twice).
    static Result<Ledger> make(const std::vector<Host>& hosts);

    int size() const { return static_cast<int>(hosts_.size()); }
    const Host& host(int h) const { return *hosts_[h]; }
    // Index of the host with this name or address, or -1.
    int find(std::string_view id) const;

    std::uint64_t used_vcpus(int h) const { return used_vcpus_[h]; }
    std::uint64_t used_memory(int h) const { return used_memory_[h]; }
    // Against the host's whole capacity (no threshold).
    bool fits(int h, const Demand& d) const {
        return used_vcpus_[h] + d.vcpus <= hosts_[h]->vcpus &&
               used_memory_[h] + d.memory_mib <= hosts_[h]->memory_mib;
    }
    void add(int h, const Demand& d) {
        used_vcpus_[h] += d.vcpus;
        used_memory_[h] += d.memory_mib;
    }
    // "3 vcpus / 2048 MiB free of 8 / 8192"
    std::string free_text(int h) const;

  private:
    std::vector<const Host*> hosts_;
    std::vector<std::uint64_t> used_vcpus_;
    std::vector<std::uint64_t> used_memory_;
    std::unordered_map<std::string_view, int> by_id_;
};

}  // namespace provisioner::placement
