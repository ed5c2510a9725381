#include "provisioner/recovery.h"

namespace provisioner {

Result<RecoveryReport> recover_interrupted(Store& store) {
    RecoveryReport report;
    Status s = store.transaction([&]() -> Status {
        for (HostState in_flight : {HostState::booting, HostState::imaging}) {
            HostFilter filter;
            filter.state = in_flight;
            auto hosts = store.list_hosts(filter);
            if (!hosts) return hosts.status();
            for (const Host& h : *hosts) {
                if (auto e = store.transition(h.id, HostState::failed, kInterruptedReason); !e)
                    return e.status();
                report.hosts_failed.push_back(h.id);
            }
        }
        auto deployments = store.list_deployments();
        if (!deployments) return deployments.status();
        for (const Deployment& d : *deployments) {
            if (d.state != DeploymentState::running) continue;
            auto targets = store.list_targets(d.id);
            if (!targets) return targets.status();
            for (DeploymentTarget t : *targets) {
                if (t.state == TargetState::succeeded || t.state == TargetState::failed) continue;
                t.state = TargetState::failed;
                t.error = kInterruptedReason;
                t.finished_at = store.now();
                if (Status u = store.update_target(t); !u) return u;
            }
            if (Status u = store.set_deployment_state(d.id, DeploymentState::interrupted); !u)
                return u;
            report.deployments_interrupted.push_back(d.id);
        }
        return Status::ok();
    });
    if (!s) return s.context("recovering interrupted deployments");
    return report;
}

}  // namespace provisioner
