// The inventory's series of GET /metrics (API.md "Monitoring"): hosts by rack and state,
// images, templates hot and cold, VMs by state, services by SO-MVDS state, deployments by
// state, image bytes delivered per transport, and each running deployment's per-host
// progress. Every known label set is written, at 0 when nothing has it. A pure function of a
// snapshot (api_metrics.cc gathers it), so tests hold the text itself.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "provisioner/records.h"
#include "service_board.h"
#include "vm_registry.h"

namespace provisioner::server {

struct InventorySnapshot {
    std::vector<Host> hosts;
    std::size_t images = 0;
    std::size_t templates_hot = 0;   // hot_templates.h: pre-copied to the hosts
    std::size_t templates_cold = 0;  // the rest of the catalog
    std::vector<HostReport> reports;  // the Dom0 agents' last reports (their VMs)
    std::map<ServiceState, std::size_t> services;  // ServiceBoard::counts
    std::vector<Deployment> deployments;
    std::map<DeploymentId, std::vector<DeploymentTarget>> targets;  // of each deployment
};

void write_inventory_metrics(std::string& out, const InventorySnapshot& snapshot);

// The VM states provisioner_vms counts under, libvirt's names in its order ("no state",
// "running", "blocked", "paused", "shutdown", "shut off", "crashed", "pmsuspended"); a state
// an agent reports is counted under the one libvirt_domain_state() gives it.
const std::vector<std::string>& vm_state_names();

}  // namespace provisioner::server
