// GET /metrics: Prometheus' scrape of the inventory and the Dom0 agents' latest reports
// (metrics_text.h), behind the operator token (Prometheus sends it as a bearer token).
#include "api_routes.h"
#include "api_support.h"
#include "imaging/http/query.h"
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
    const std::string_view target(c.req.target().data(), c.req.target().size());
    auto query = imaging::http::parse_query(target);
    if (!query)
        return status_response(c.req, Status::error(Code::invalid_argument, "malformed query"));
    const auto devices = imaging::http::query_value(*query, "vm_devices").value_or("0");
    if (devices != "0" && devices != "1")
        return status_response(c.req, Status::error(Code::invalid_argument,
                                                    "vm_devices: want 0 or 1, not '" + devices + "'"));
    snapshot.vm_devices = devices == "1";
    std::string text = metrics_text(snapshot);
    if (Status s = append_server_metrics(ctx, snapshot.hosts, snapshot.reports, text); !s)
        return status_response(c.req, s);
    return imaging::http::make_response(c.req, imaging::http::bhttp::status::ok, std::move(text),
                                        "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace provisioner::server::handlers
