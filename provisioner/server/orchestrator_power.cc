// Orchestrator::fail_host: a host its BMC could not power or boot (power_service.h).
#include "orchestrator.h"
#include "orchestrator_parts.h"

namespace provisioner::server {

Status Orchestrator::fail_host(HostId host, DeploymentId deployment, const std::string& reason) {
    std::shared_ptr<const OrderedWrites::Outcome> finished;
    {
        std::lock_guard lock(mu_);
        auto it = active_.find(deployment);
        if (it == active_.end() || !it->second->targets.contains(host))
            return Status::error(Code::not_found, "no running deployment " +
                                                      std::to_string(deployment) +
                                                      " for this host");
        Active& a = *it->second;
        Target& t = a.targets.at(host);
        if (t.state != TargetState::pending && t.state != TargetState::running)
            return Status::error(Code::illegal_transition,
                                 "this host's part of deployment " + std::to_string(deployment) +
                                     " is " + to_string(t.state));
        finished = finish_target_locked(a, t, false, reason);
        finish_if_done_locked(a);
    }
    apply_writes();
    return Status::ok();
}

}  // namespace provisioner::server
