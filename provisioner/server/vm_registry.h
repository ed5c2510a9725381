// What the Dom0 agents report (each host's capacity and VMs, the latest report per host) and
// the VM actions waiting for them: the steps of `site apply` and the removals of `vm recall`.
//
// Kept in memory only (API.md): a restart forgets unfinished actions, and the next apply plans
// again from the agents' reports.
//
// Release rule for the steps of one apply: a step is handed to its agent once every earlier
// step of the same apply that touches any of its hosts (host or from_host) is answered ok; a
// migration also waits for every earlier step. A step behind a failed one is skipped: a failed
// step fails its apply and releases nothing after it on the same hosts. Recall actions are
// released at once.
//
// Thread-safe: every member takes the one mutex; nothing does I/O under it.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "provisioner/reconcile.h"
#include "provisioner/records.h"
#include "provisioner/site.h"
#include "provisioner/status.h"

namespace provisioner::server {

struct VmCapacity {
    std::uint32_t vcpus = 0;
    std::uint64_t memory_mib = 0;
    double load = 0;
    std::uint32_t reserved_vcpus = 0;
    std::uint64_t reserved_memory_mib = 0;
    std::string libvirt_uri;  // where a migration to this host goes
};

// A VM as an agent reports it (API.md "Vm").
struct ReportedVm {
    std::string name;
    std::uint32_t vcpus = 0;
    std::uint64_t memory_mib = 0;
    std::string template_ref;  // site::TemplateRef::str() it was created from
    std::string state;         // libvirt's: "running", "shut off", ...
};

struct HostReport {
    HostId host = 0;
    std::string name;  // the inventory's name and IP at the time of the report
    std::string ip;
    VmCapacity capacity;
    std::vector<ReportedVm> vms;
    Timestamp reported_at = 0;
};

struct VmInterfaceSpec {
    std::string mac;
    std::string network;
    std::uint16_t vlan = 0;
};

// What an agent needs to carry out an action on one VM.
struct VmSpec {
    std::string name;
    std::uint32_t vcpus = 0;
    std::uint64_t memory_mib = 0;
    std::string template_ref;
    std::vector<VmInterfaceSpec> interfaces;
};

using ActionId = std::uint64_t;
using ApplyId = std::uint64_t;

// waiting: not yet released; released: handed to the agent, unanswered; skipped: behind a
// failed step, never released.
enum class ActionState { waiting, released, done, failed, skipped };
const char* to_string(ActionState state);

struct VmAction {
    ActionId id = 0;
    ApplyId apply = 0;  // 0 for a recall
    HostId host = 0;    // the agent that carries it out (a migration's source)
    reconcile::Action step;
    VmSpec vm;
    std::string to_uri;  // migrate only
    ActionState state = ActionState::waiting;
    std::string error;
};

struct ApplyRecord {
    ApplyId id = 0;
    Timestamp created_at = 0;
    std::string state;  // running, succeeded, failed
    std::vector<VmAction> steps;
};

class VmRegistry {
  public:
    // Keeps at most this many finished applies (the oldest go first).
    explicit VmRegistry(std::size_t keep_applies = 100) : keep_applies_(keep_applies) {}

    void report(HostReport report);
    std::vector<HostReport> reports() const;  // by host id
    // One ActualHost per reporting host, named by its inventory name, addressed by its IP.
    reconcile::ActualState actual() const;

    // Queues plan's actions as one apply; create actions take their spec from site. Fails
    // (queuing nothing) with conflict while another apply has unanswered steps, and when a step
    // names a host that has not reported.
    Result<ApplyId> enqueue_apply(const reconcile::Plan& plan, const site::Site& site,
                                  Timestamp now);
    // Remove actions for every reported VM matching a name glob ("all" matches all), released
    // at once; the actions made.
    std::vector<VmAction> recall(const std::string& selector);

    // The host's released, unanswered actions, oldest first.
    std::vector<VmAction> pending_for(HostId host) const;
    // The host that carries out action id, if there is one.
    std::optional<HostId> action_host(ActionId id) const;
    // Marks a released action done or failed; not_found for an unknown id, illegal_transition
    // for one not released (already answered, or not yet handed out). A done action also
    // changes the stored reports as it changed the hosts, so that an apply planned before the
    // agents' next reports does not repeat it; those reports then replace the guess.
    Status answer(ActionId id, bool ok, const std::string& error);

    // Newest first.
    std::vector<ApplyRecord> applies() const;

  private:
    struct Apply {
        ApplyId id = 0;
        Timestamp created_at = 0;
        std::vector<ActionId> steps;
    };

    void release_locked(Apply& apply);
    std::string apply_state_locked(const Apply& apply) const;
    void trim_locked();
    void record_effect_locked(const VmAction& action);
    const HostReport* report_by_name_locked(const std::string& name) const;

    const std::size_t keep_applies_;
    mutable std::mutex mu_;
    std::map<HostId, HostReport> reports_;
    std::map<ActionId, VmAction> actions_;
    std::map<ApplyId, Apply> applies_;
    ActionId next_action_ = 1;
    ApplyId next_apply_ = 1;
};

// A VM's spec from its site entry (interfaces with their network's VLAN).
VmSpec spec_from_site(const site::Site& site, const site::Vm& vm);

}  // namespace provisioner::server
