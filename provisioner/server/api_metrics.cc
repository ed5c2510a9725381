// GET /metrics: Prometheus' scrape of the inventory and the Dom0 agents' latest reports
// (metrics_text.h), behind the operator token (Prometheus sends it as a bearer token).
#include "api_routes.h"
#include "api_support.h"
#include "metrics_text.h"
#include "api_metrics_server.h"

namespace provisioner::server::handlers {

Reply metrics(ApiContext& ctx, const Call& c) {
    MetricsSnapshot snapshot;
    snapshot.version = ctx.version;
    auto hosts = ctx.store.list_hosts(HostFilter{});
    if (!hosts) return status_response(c.req, hosts.status());
    snapshot.hosts = std::move(*hosts);
    if (ctx.monitor) snapshot.metrics = ctx.monitor->latest_metrics();
    snapshot.reports = ctx.vms.reports();
    if (ctx.vm_metrics) snapshot.vm_metrics = ctx.vm_metrics->snapshot();
    std::string text = metrics_text(snapshot);
    if (Status s = append_server_metrics(ctx, snapshot.hosts, snapshot.reports, text); !s)
        return status_response(c.req, s);
    return imaging::http::make_response(c.req, imaging::http::bhttp::status::ok, std::move(text),
                                        "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace provisioner::server::handlers
