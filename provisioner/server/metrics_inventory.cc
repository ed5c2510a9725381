#include "metrics_inventory.h"

#include <set>

#include "exposition.h"
#include "metrics_text.h"
#include "provisioner/lifecycle.h"

namespace provisioner::server {

using exposition::Family;
using exposition::number;

const std::vector<std::string>& vm_state_names() {
    static const std::vector<std::string> names = {"no state", "running",  "blocked",
                                                   "paused",   "shutdown", "shut off",
                                                   "crashed",  "pmsuspended"};
    return names;
}

namespace {

std::uint64_t n(std::size_t v) {
    return std::uint64_t(v);
}

void hosts_by_rack(std::string& out, const std::vector<Host>& hosts) {
    std::map<std::string, std::map<HostState, std::size_t>> racks;
    for (const Host& h : hosts) ++racks[h.rack][h.state];
    Family f(out, "provisioner_rack_hosts", "gauge",
             "Hosts in the inventory by rack (\"\" for none) and lifecycle state; every state of "
             "every rack that has hosts.");
    for (const auto& [rack, states] : racks)
        for (HostState state : all_host_states()) {
            auto found = states.find(state);
            f.sample({{"rack", rack}, {"state", to_string(state)}},
                     number(n(found == states.end() ? 0 : found->second)));
        }
}

void vms_by_state(std::string& out, const std::vector<HostReport>& reports) {
    const auto& names = vm_state_names();
    std::vector<std::size_t> counts(names.size(), 0);
    for (const HostReport& r : reports)
        for (const ReportedVm& v : r.vms) {
            const int state = libvirt_domain_state(v.state);
            ++counts[state >= 0 && std::size_t(state) < names.size() ? std::size_t(state) : 0];
        }
    Family f(out, "provisioner_vms", "gauge",
             "VMs the Dom0 agents report, by libvirt state (their last reports).");
    for (std::size_t i = 0; i < names.size(); ++i)
        f.sample({{"state", names[i]}}, number(n(counts[i])));
}

void deployments(std::string& out, const InventorySnapshot& s) {
    std::map<DeploymentState, std::size_t> by_state;
    for (const Deployment& d : s.deployments) ++by_state[d.state];
    {
        Family f(out, "provisioner_deployments", "gauge", "Deployments by state.");
        for (DeploymentState state : {DeploymentState::running, DeploymentState::succeeded,
                                      DeploymentState::failed, DeploymentState::interrupted})
            f.sample({{"state", to_string(state)}}, number(n(by_state[state])));
    }
    std::map<Transport, std::uint64_t> delivered = {
        {Transport::delta, 0}, {Transport::multicast, 0}, {Transport::torrent, 0}};
    for (const auto& [id, targets] : s.targets)
        for (const DeploymentTarget& t : targets) delivered[t.transport] += t.bytes_done;
    {
        Family f(out, "provisioner_delivered_bytes_total", "counter",
                 "Image bytes the hosts of every deployment reported written, by the transport "
                 "that carried them.");
        for (const auto& [transport, bytes] : delivered)
            f.sample({{"transport", to_string(transport)}}, number(bytes));
    }
    std::map<HostId, const Host*> hosts;
    for (const Host& h : s.hosts) hosts[h.id] = &h;
    struct Row {
        std::string deployment, host, transport;
        std::uint64_t done, total;
    };
    std::vector<Row> rows;
    for (const Deployment& d : s.deployments) {
        if (d.state != DeploymentState::running) continue;
        auto targets = s.targets.find(d.id);
        if (targets == s.targets.end()) continue;
        for (const DeploymentTarget& t : targets->second) {
            auto h = hosts.find(t.host);
            rows.push_back({std::to_string(d.id),
                            h == hosts.end() ? std::to_string(t.host) : h->second->name,
                            to_string(t.transport), t.bytes_done, t.bytes_total});
        }
    }
    if (rows.empty()) return;
    auto progress = [&](const char* name, const char* help, std::uint64_t Row::*field) {
        Family f(out, name, "gauge", help);
        for (const Row& r : rows)
            f.sample({{"deployment", r.deployment}, {"host", r.host}, {"transport", r.transport}},
                     number(r.*field));
    };
    progress("provisioner_deployment_host_written_bytes",
             "Bytes of the image a host of a running deployment has written.", &Row::done);
    progress("provisioner_deployment_host_image_bytes",
             "Bytes of the image a host of a running deployment writes in all.", &Row::total);
}

}  // namespace

void write_inventory_metrics(std::string& out, const InventorySnapshot& s) {
    hosts_by_rack(out, s.hosts);
    Family(out, "provisioner_images", "gauge", "Images in the store.")
        .sample({}, number(n(s.images)));
    {
        Family f(out, "provisioner_templates", "gauge",
                 "VM templates in the catalog: hot (pre-copied to the hosts) and cold.");
        f.sample({{"temperature", "hot"}}, number(n(s.templates_hot)));
        f.sample({{"temperature", "cold"}}, number(n(s.templates_cold)));
    }
    vms_by_state(out, s.reports);
    {
        Family f(out, "provisioner_services", "gauge",
                 "Services the site puts in VMs, by SO-MVDS state (vm_unavailable: the VM's "
                 "guest agent has not reported lately).");
        for (ServiceState state :
             {ServiceState::vm_unavailable, ServiceState::vm_ready, ServiceState::container_ready,
              ServiceState::service_available, ServiceState::failed}) {
            auto found = s.services.find(state);
            f.sample({{"state", to_string(state)}},
                     number(n(found == s.services.end() ? 0 : found->second)));
        }
    }
    deployments(out, s);
}

}  // namespace provisioner::server
