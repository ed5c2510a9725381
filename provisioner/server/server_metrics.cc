#include "server_metrics.h"

#include "exposition.h"
#include "process_metrics.h"

namespace provisioner::server {
namespace {

using exposition::Family;
using exposition::number;

constexpr const char* kClassNames[] = {"2xx", "3xx", "4xx", "5xx"};
constexpr const char* kUnmatched = "unmatched";

std::string verb_name(imaging::http::bhttp::verb method) {
    auto name = imaging::http::bhttp::to_string(method);
    return std::string(name.data(), name.size());
}

// A histogram's samples for one label set under a family already opened (HELP and TYPE):
// NAME_bucket per bound and +Inf (cumulative), NAME_sum, NAME_count.
void histogram_samples(std::string& out, const char* name, const exposition::Labels& labels,
                       const HistogramSnapshot& h) {
    std::string prefix;
    for (const auto& [label, value] : labels)
        prefix.append(label).append("=\"").append(exposition::escaped(value)).append("\",");
    auto bucket = [&](const std::string& le, std::uint64_t count) {
        out.append(name).append("_bucket{").append(prefix).append("le=\"").append(le);
        out.append("\"} ").append(number(count)).append("\n");
    };
    for (std::size_t i = 0; i < h.bounds.size(); ++i) bucket(number(h.bounds[i]), h.cumulative[i]);
    bucket("+Inf", h.count);
    if (!prefix.empty()) prefix.pop_back();
    const std::string braces = prefix.empty() ? "" : "{" + prefix + "}";
    out.append(name).append("_sum").append(braces).append(" ").append(number(h.sum)).append("\n");
    out.append(name).append("_count").append(braces).append(" ").append(number(h.count));
    out.append("\n");
}

}  // namespace

const char* to_string(BootScriptKind kind) {
    switch (kind) {
    case BootScriptKind::netboot: return "netboot";
    case BootScriptKind::local_disk: return "local_disk";
    case BootScriptKind::discovery: return "discovery";
    case BootScriptKind::discovered_wait: return "discovered_wait";
    }
    return "unknown";
}

std::size_t ServerMetrics::class_index(unsigned status) {
    const unsigned c = status / 100;
    return c <= 2 ? 0 : c >= 5 ? 3 : c - 2;
}

const char* ServerMetrics::status_class(unsigned status) {
    return kClassNames[class_index(status)];
}

ServerMetrics::ServerMetrics(std::span<const Route> routes,
                             std::chrono::steady_clock::time_point started)
    : last_tick_ns_(started.time_since_epoch().count()) {
    for (const auto& [method, route] : routes) {
        slots_.push_back(std::make_unique<Slot>(verb_name(method), route));
        Slot* slot = slots_.back().get();
        by_route_[std::string_view(slot->route)].emplace_back(method, slot);
    }
    slots_.push_back(std::make_unique<Slot>("", kUnmatched));
}

ServerMetrics::Slot& ServerMetrics::slot_of(const imaging::http::RequestRecord& record) {
    if (record.route) {
        auto found = by_route_.find(std::string_view(*record.route));
        if (found != by_route_.end())
            for (const auto& [method, slot] : found->second)
                if (method == record.method) return *slot;
    }
    return *slots_.back();
}

void ServerMetrics::observe(const imaging::http::RequestRecord& record) {
    Slot& slot = slot_of(record);
    slot.requests[class_index(record.status)].add();
    slot.latency.observe(std::chrono::duration<double>(record.duration).count());
}

void ServerMetrics::set_http_source(std::function<HttpPoolState()> source) {
    std::lock_guard lock(sources_mu_);
    http_source_ = std::move(source);
}

void ServerMetrics::set_dnsmasq_source(std::function<DnsmasqState()> source) {
    std::lock_guard lock(sources_mu_);
    dnsmasq_source_ = std::move(source);
}

void ServerMetrics::write(std::string& out, std::chrono::steady_clock::time_point now) const {
    auto labels = [](const Slot& s) -> exposition::Labels {
        return {{"method", s.method}, {"route", s.route}};
    };
    {
        Family f(out, "provisioner_http_requests_total", "counter",
                 "HTTP requests answered, by method, route pattern (\"unmatched\": no route took "
                 "it) and status class.");
        for (const auto& slot : slots_)
            for (std::size_t c = 0; c < kClasses; ++c) {
                exposition::Labels l = labels(*slot);
                l.emplace_back("status", kClassNames[c]);
                f.sample(l, number(slot->requests[c].value()));
            }
    }
    {
        const char* name = "provisioner_http_request_duration_seconds";
        Family(out, name, "histogram",
               "Time from a request's last byte read to its answer handed to the connection "
               "(waiting for a worker included), by method and route pattern.");
        for (const auto& slot : slots_)
            histogram_samples(out, name, labels(*slot), slot->latency.snapshot());
    }

    HttpPoolState http;
    std::function<DnsmasqState()> dnsmasq_source;
    {
        std::lock_guard lock(sources_mu_);
        if (http_source_) http = http_source_();
        dnsmasq_source = dnsmasq_source_;
    }
    Family(out, "provisioner_http_workers", "gauge",
           "Threads of the HTTP worker pool, where every API handler runs.")
        .sample({}, number(std::uint64_t(http.workers)));
    Family(out, "provisioner_http_queued_requests", "gauge",
           "Requests waiting for a worker of the pool.")
        .sample({}, number(std::uint64_t(http.queued)));
    Family(out, "provisioner_http_queue_capacity", "gauge",
           "Requests that may wait for a worker; more are answered 503 (--http-queue).")
        .sample({}, number(std::uint64_t(http.max_queued)));
    Family(out, "provisioner_http_rejected_requests_total", "counter",
           "Requests answered 503 at once because the worker pool's queue was full.")
        .sample({}, number(http.rejected));
    Family(out, "provisioner_http_open_connections", "gauge", "Open HTTP connections.")
        .sample({}, number(std::uint64_t(http.connections)));

    if (dnsmasq_source) {
        const DnsmasqState d = dnsmasq_source();
        Family(out, "provisioner_dnsmasq_up", "gauge",
               "1 while the dnsmasq provisionerd supervises (DHCP, TFTP) runs.")
            .sample({}, d.up ? "1" : "0");
        Family(out, "provisioner_dnsmasq_restarts_total", "counter",
               "Times provisionerd restarted dnsmasq after it died.")
            .sample({}, number(d.restarts));
        if (d.leases)
            Family(out, "provisioner_dhcp_leases", "gauge",
                   "Unexpired DHCP leases in dnsmasq's lease file.")
                .sample({}, number(std::uint64_t(*d.leases)));
    }
    {
        Family f(out, "provisioner_boot_scripts_served_total", "counter",
                 "iPXE scripts served to PXE firmware, by what they boot (netboot: the imaging "
                 "agent; local_disk; discovery: the agent to register an unknown host; "
                 "discovered_wait: a registered one waits).");
        for (std::size_t k = 0; k < kBootScriptKinds; ++k)
            f.sample({{"kind", to_string(BootScriptKind(k))}}, number(boot_scripts_[k].value()));
    }
    const std::chrono::steady_clock::time_point last{
        std::chrono::steady_clock::duration(last_tick_ns_.load(std::memory_order_relaxed))};
    const double age = std::max(0.0, std::chrono::duration<double>(now - last).count());
    Family(out, "provisioner_orchestrator_tick_age_seconds", "gauge",
           "Seconds since the orchestrator's last tick ended (since the start before the "
           "first); it ticks every 200 ms, so a large age means it is stuck.")
        .sample({}, number(age));
    write_process_metrics(out);
}

}  // namespace provisioner::server
