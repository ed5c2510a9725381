// Reconcile: from the site as it should be and the site as the agents report it, the ordered
// plan of actions (create, remove, reconfigure, migrate) that turns one into the other.
//
// The plan is checked as a whole before anything runs: simulated step by step from the actual
// state, no step puts more vcpus or memory on a host than it has (reserved capacity counted),
// every action names a host that exists and a VM that is (or is not yet) where it says. Applying
// a desired state that the actual state already matches gives an empty plan; placement keeps
// running VMs where they are (placement.h), so applying a file twice changes nothing.
//
// Pure computation. The server feeds ActualState from the agents' reports and runs the actions
// in plan order (actions on different hosts may run in parallel when the caller keeps the
// order per host and runs a migration only once the steps before it are done).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "provisioner/placement.h"
#include "provisioner/site.h"
#include "provisioner/status.h"

namespace provisioner::reconcile {

// A VM that an agent reports running (or defined) on its host, created by this provisioner.
// Foreign VMs are not listed here; their capacity goes into ActualHost::reserved_*.
struct RunningVm {
    std::string name;
    std::uint32_t vcpus = 0;
    std::uint64_t memory_mib = 0;
    std::string image;  // the template reference it was created from (site::TemplateRef::str())
};

struct ActualHost {
    std::string name;     // the inventory's host name
    std::string address;  // its IP; DOM0 in the site file may name either
    std::uint32_t vcpus = 0;
    std::uint64_t memory_mib = 0;
    double load = 0;                   // 0..1, for weighted-round-robin
    std::uint32_t reserved_vcpus = 0;  // Dom0 and VMs the provisioner does not manage
    std::uint64_t reserved_memory_mib = 0;
    std::vector<RunningVm> vms;
};

struct ActualState {
    std::vector<ActualHost> hosts;  // the hosts that can run VMs (ready, reporting)
};

// One VM as it should be: the site's VM placed on a host.
struct DesiredVm {
    std::string name;
    std::string host;  // ActualHost::name
    std::uint32_t vcpus = 0;
    std::uint64_t memory_mib = 0;
    std::string image;
    std::string reason;  // why it is on that host (the placement's reason); may be empty
};

enum class ActionKind { create, remove, reconfigure, migrate };
const char* to_string(ActionKind kind);

struct Action {
    ActionKind kind = ActionKind::create;
    std::string vm;
    std::string host;       // where it acts: create/reconfigure/remove there, migrate to there
    std::string from_host;  // migrate only: where the VM is now
    // create: the VM's size; reconfigure: its new size; migrate/remove: its size at that step.
    std::uint32_t vcpus = 0;
    std::uint64_t memory_mib = 0;
    std::string image;   // create only
    std::string reason;  // one line
};

struct Plan {
    std::vector<Action> actions;  // in the order they must run
    // The placement behind the plan, one line per desired VM, when plan_site made it.
    std::vector<placement::Assignment> placement;
    bool empty() const { return actions.empty(); }
    std::string describe() const;  // one line per action, for --dry-run and `site diff`
};

struct Options {
    // A VM whose template reference changed is removed and created again (its disk is lost)
    // when true; by default that is a conflict error naming the VMs.
    bool recreate_on_image_change = false;
};

// The ordered, validated plan from `actual` to `desired`. Fails with invalid_argument when a
// desired VM names an unknown host or no order avoids overcommitting (e.g. two full hosts
// swapping VMs), and conflict when an image changed without recreate_on_image_change.
Result<Plan> make_plan(const std::vector<DesiredVm>& desired, const ActualState& actual,
                       const Options& options = {});

// Simulates `plan` from `actual`: ok, or invalid_argument naming the first step that would
// fail (unknown host or VM, a VM in the wrong place, a host overcommitted).
Status validate_plan(const Plan& plan, const ActualState& actual);

// Placement request for `site` on the actual hosts, with each VM's current host, so that
// running VMs stay put.
placement::Request placement_request(const site::Site& site, const ActualState& actual);

// The whole of `site apply`'s thinking: place the site (algorithm: the argument, else the
// site's, else "first-fit"; thresholds: the site's, else the placer's) and plan. A VM that
// cannot be placed fails the whole plan, with every such VM and why in the message.
Result<Plan> plan_site(const site::Site& site, const ActualState& actual,
                       std::string_view algorithm = "", const Options& options = {});

}  // namespace provisioner::reconcile
