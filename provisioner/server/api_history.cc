// The metrics history (metrics_history.h) for graphs: GET /api/v1/hosts/{host}/metrics and
// GET /api/v1/vms/{vm}/metrics (?since=&step=, API.md "Metrics history"), and each host's and
// VM's latest values for `provisioner top` (GET /api/v1/metrics/latest).
#include <cmath>

#include "api_routes.h"
#include "api_support.h"
#include "imaging/http/query.h"

namespace provisioner::server::handlers {

namespace {

using nlohmann::json;

json labels_json(const Labels& labels) {
    json out = json::object();
    for (const auto& [k, v] : labels) out[k] = v;
    return out;
}

json number_or_null(double v) {
    return std::isfinite(v) ? json(v) : json(nullptr);
}

json answer_json(const HistoryAnswer& a) {
    json series = json::array();
    for (std::size_t i = 0; i < a.series.size(); ++i) {
        json values = json::array();
        for (double v : a.values[i]) values.push_back(number_or_null(v));
        series.push_back({{"name", a.series[i].metric},
                          {"labels", labels_json(a.series[i].labels)},
                          {"kind", to_string(a.series[i].kind)},
                          {"values", std::move(values)}});
    }
    return {{"since", a.since},
            {"until", a.until},
            {"step", a.step},
            {"archive",
             {{"step", a.archive.step_seconds}, {"retention", a.archive.retention_seconds()}}},
            {"times", a.times},
            {"series", std::move(series)}};
}

// since (default 1h) and step (default: about 240 points) of the query, then the history.
Reply history_reply(ApiContext& ctx, const Call& c, const Entity& entity, json head) {
    if (!ctx.history)
        return error_response(c.req, status::not_found, "not_found",
                              "this server keeps no metrics history");
    const std::string_view target(c.req.target().data(), c.req.target().size());
    auto query = imaging::http::parse_query(target);
    if (!query)
        return status_response(c.req, Status::error(Code::invalid_argument, "malformed query"));
    const std::int64_t now = ctx.store.now() / 1000;
    auto since = parse_since(imaging::http::query_value(*query, "since").value_or("1h"), now);
    if (!since) return status_response(c.req, since.status());
    std::int64_t step = 0;
    if (auto text = imaging::http::query_value(*query, "step")) {
        auto parsed = parse_step(*text);
        if (!parsed) return status_response(c.req, parsed.status());
        step = *parsed;
    }
    auto answer = ctx.history->read(entity, *since, now, step);
    if (!answer) {
        if (answer.status().code() == Code::not_found)
            return error_response(c.req, status::not_found, "not_found",
                                  "no metrics recorded for " + head.begin().key() + " " +
                                      head.begin().value().get<std::string>() + " yet");
        return status_response(c.req, answer.status());
    }
    json body = answer_json(*answer);
    body.insert(head.begin(), head.end());
    return json_response(c.req, status::ok, body);
}

json latest_json(const LatestValues& l) {
    json series = json::array();
    for (std::size_t i = 0; i < l.series->size() && i < l.values.size(); ++i) {
        const Series& s = (*l.series)[i];
        series.push_back({{"name", s.metric},
                          {"labels", labels_json(s.labels)},
                          {"kind", to_string(s.kind)},
                          {"value", number_or_null(l.values[i])}});
    }
    return {{"time", l.time}, {"series", std::move(series)}};
}

}  // namespace

Reply host_metrics(ApiContext& ctx, const Call& c) {
    auto host = resolve_host(ctx.store, c.param("host"));
    if (!host) return status_response(c.req, host.status());
    return history_reply(ctx, c, Entity{EntityKind::host, std::to_string(host->id)},
                         {{"host", host->name}});
}

Reply vm_metrics(ApiContext& ctx, const Call& c) {
    const std::string vm = c.param("vm");
    return history_reply(ctx, c, Entity{EntityKind::vm, vm}, {{"vm", vm}});
}

Reply latest_metrics(ApiContext& ctx, const Call& c) {
    json hosts = json::array(), vms = json::array();
    if (ctx.history) {
        auto inventory = ctx.store.list_hosts(HostFilter{});
        if (!inventory) return status_response(c.req, inventory.status());
        std::map<std::string, std::string> names;
        for (const Host& h : *inventory) names[std::to_string(h.id)] = h.name;
        for (const LatestValues& l : ctx.history->latest(EntityKind::host)) {
            auto name = names.find(l.entity.name);
            if (name == names.end()) continue;  // removed from the inventory since
            json entry = latest_json(l);
            entry["host"] = name->second;
            hosts.push_back(std::move(entry));
        }
        for (const LatestValues& l : ctx.history->latest(EntityKind::vm)) {
            json entry = latest_json(l);
            entry["vm"] = l.entity.name;
            vms.push_back(std::move(entry));
        }
    }
    return json_response(c.req, status::ok, {{"hosts", hosts}, {"vms", vms}});
}

}  // namespace provisioner::server::handlers
