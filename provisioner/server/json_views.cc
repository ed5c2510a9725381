#include "json_views.h"
#include "base/json.h"

namespace provisioner::server {

using nlohmann::json;

namespace {

json optional_time(const std::optional<Timestamp>& t) {
    return t ? json(*t) : json(nullptr);
}

}  // namespace

json host_json(const Host& h) {
    json facts = nullptr;
    if (!h.facts_json.empty()) facts = base::parse_json(h.facts_json).value;
    if (facts.is_discarded()) facts = nullptr;
    return {{"id", h.id},
            {"mac", h.mac.str()},
            {"name", h.name},
            {"ip", h.ip},
            {"rack", h.rack},
            {"state", to_string(h.state)},
            {"facts", facts},
            {"image", h.image ? json(*h.image) : json(nullptr)},
            {"created_at", h.created_at},
            {"updated_at", h.updated_at}};
}

json image_json(const Image& i) {
    return {{"id", i.id},
            {"name", i.name},
            {"version", i.version},
            {"manifest_sha256", i.manifest_sha256},
            {"image_sha256", i.image_sha256},
            {"raw_size", i.raw_size},
            {"stored_size", i.stored_size},
            {"path", i.path},
            {"imported_at", i.imported_at}};
}

json template_json(const Template& t) {
    return {{"id", t.id},
            {"name", t.name},
            {"version", t.version},
            {"ref", t.ref()},
            {"labels", t.labels},
            {"format", t.format},
            {"size", t.size},
            {"sha256", t.sha256},
            {"backing", t.backing.empty() ? json(nullptr) : json(t.backing)},
            {"path", t.path},
            {"created_at", t.created_at},
            {"last_used_at", t.last_used_at ? json(*t.last_used_at) : json(nullptr)}};
}

json event_json(const Event& e) {
    return {{"id", e.id},
            {"time", e.time},
            {"host", e.host ? json(*e.host) : json(nullptr)},
            {"mac", e.mac},
            {"from", e.from ? json(to_string(*e.from)) : json(nullptr)},
            {"to", e.to ? json(to_string(*e.to)) : json(nullptr)},
            {"reason", e.reason}};
}

json deployment_json(const Deployment& d, const Image* image) {
    json img = {{"id", d.image}};
    if (image) {
        img["name"] = image->name;
        img["version"] = image->version;
    }
    return {{"id", d.id},
            {"image", img},
            {"transport", to_string(d.transport)},
            {"state", to_string(d.state)},
            {"created_at", d.created_at},
            {"finished_at", optional_time(d.finished_at)}};
}

json target_json(const DeploymentTarget& t, const Host* host) {
    return {{"host", t.host},
            {"name", host ? host->name : ""},
            {"mac", host ? host->mac.str() : ""},
            {"state", to_string(t.state)},
            {"transport", to_string(t.transport)},
            {"bytes_done", t.bytes_done},
            {"bytes_total", t.bytes_total},
            {"started_at", optional_time(t.started_at)},
            {"finished_at", optional_time(t.finished_at)},
            {"error", t.error}};
}

}  // namespace provisioner::server
