// Placement: which host each VM of a site runs on.
//
// One interface (Placer) with three algorithms, chosen by name:
//   "first-fit"            SO-MVDS's Algorithms 1 and 2: a host's free CPU and memory are its
//                          capacity times a threshold (0.7-0.8) minus what is used; each VM goes
//                          to the host with the most free memory (then CPU) that has enough of
//                          both.
//   "round-robin"          hosts in turn, in the order given, skipping those without room.
//   "weighted-round-robin" EDIV: hosts in turn with a share weighted by current load,
//                          weight = 1 / (1 + 2 * load); an idle host gets three times the share
//                          of a fully loaded one (this reproduces EDIV's distribution table).
// Every algorithm honours the same constraints, in this order:
//   1. pinned VMs (DOM0 in the site file) go to their host, checked against its full capacity;
//   2. VMs already running (current_host) stay where they are if they still fit there and break
//      no constraint, so that applying a site again does not shuffle it;
//   3. the rest are placed by the algorithm, in request order.
// A "together" group is placed as one unit (its summed demand on one host); "apart" VMs never
// share a host. No host is ever given more vcpus or memory than it has.
//
// Pure computation: no I/O, no clock. A Placer is immutable and may be shared between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "provisioner/status.h"

namespace provisioner::placement {

struct Host {
    std::string name;     // the host's identity in the plan
    std::string address;  // optional second identity (its IP); a pin may name either
    std::uint32_t vcpus = 0;
    std::uint64_t memory_mib = 0;
    double load = 0;  // measured CPU load, 0 (idle) .. 1 (busy)
    // Capacity already taken by what this request does not place (Dom0, foreign VMs).
    std::uint32_t reserved_vcpus = 0;
    std::uint64_t reserved_memory_mib = 0;
};

struct Vm {
    std::string name;
    std::uint32_t vcpus = 0;
    std::uint64_t memory_mib = 0;
    std::string pinned_host;   // name or address of a host; empty: the algorithm chooses
    std::string current_host;  // where it runs now (name or address); empty: not running
};

struct Request {
    std::vector<Host> hosts;
    std::vector<Vm> vms;
    std::vector<std::vector<std::string>> together;  // each: VM names that share one host
    std::vector<std::vector<std::string>> apart;     // each: VM names on pairwise distinct hosts
};

struct Assignment {
    std::string vm;
    std::string host;    // Host::name
    std::string reason;  // one line: why this host
};

struct Unplaced {
    std::string vm;
    std::string reason;  // one line: why no host could take it
};

struct Placement {
    // One per VM, in request order; empty unless every VM was placed (nothing half applied).
    std::vector<Assignment> assignments;
    std::vector<Unplaced> unplaced;  // every VM that could not be placed, in request order
    bool ok() const { return unplaced.empty(); }
    // ok, or invalid_argument with one line per unplaced VM ("vm web3: ...").
    Status status() const;
};

struct Options {
    // SO-MVDS's T_CPU and T_Mem: the part of a host's capacity first-fit fills. In (0, 1].
    double cpu_threshold = 0.8;
    double memory_threshold = 0.8;
};

class Placer {
  public:
    virtual ~Placer() = default;
    virtual std::string_view name() const = 0;
    // An error Status only for a malformed request (duplicate host or VM names, a constraint
    // naming an unknown VM, a zero demand); VMs that do not fit are reported in the Placement.
    virtual Result<Placement> place(const Request& request) const = 0;
};

// "first-fit", "round-robin" or "weighted-round-robin"; anything else is invalid_argument
// listing the known names.
Result<std::unique_ptr<Placer>> make_placer(std::string_view algorithm,
                                            const Options& options = {});
const std::vector<std::string>& placer_names();

// EDIV's share of a host at this load (0..1, clamped), as used by weighted-round-robin.
double load_weight(double load);

}  // namespace provisioner::placement
