#include "api_metrics_server.h"

#include <chrono>

#include "hot_templates.h"
#include "metrics_inventory.h"

namespace provisioner::server {

Status append_server_metrics(ApiContext& ctx, std::vector<Host>& hosts,
                             std::vector<HostReport>& reports, std::string& out) {
    InventorySnapshot inventory;
    inventory.hosts = std::move(hosts);
    inventory.reports = std::move(reports);
    struct GiveBack {  // on every path out
        InventorySnapshot& from;
        std::vector<Host>& hosts;
        std::vector<HostReport>& reports;
        ~GiveBack() {
            hosts = std::move(from.hosts);
            reports = std::move(from.reports);
        }
    } give_back{inventory, hosts, reports};
    auto images = ctx.store.list_images();
    if (!images) return images.status();
    inventory.images = images->size();
    auto catalog = ctx.store.list_templates();
    if (!catalog) return catalog.status();
    const Timestamp now = ctx.store.now();
    inventory.templates_hot = hot_templates(*catalog, now, ctx.config.template_cool_down).size();
    inventory.templates_cold = catalog->size() - inventory.templates_hot;
    inventory.services = ctx.services.counts(now);
    auto deployments = ctx.store.list_deployments();
    if (!deployments) return deployments.status();
    for (const Deployment& d : *deployments) {
        auto targets = ctx.store.list_targets(d.id);
        if (!targets) return targets.status();
        inventory.targets[d.id] = std::move(*targets);
    }
    inventory.deployments = std::move(*deployments);
    write_inventory_metrics(out, inventory);
    if (ctx.server_metrics) ctx.server_metrics->write(out, std::chrono::steady_clock::now());
    return Status::ok();
}

}  // namespace provisioner::server
