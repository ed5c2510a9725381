#include "json_views.h"

#include <charconv>
#include <cstdint>
#include <string_view>

#include "base/json.h"

namespace provisioner::server {

using nlohmann::json;

namespace {

json optional_time(const std::optional<Timestamp>& t) {
    return t ? json(*t) : json(nullptr);
}

json parsed_facts(const std::string& text) {
    if (text.empty()) return nullptr;
    json facts = base::parse_json(text).value;
    return facts.is_discarded() ? json(nullptr) : facts;
}

// What json(v).dump() with the API's settings gives, appended. Printable ASCII other than '"'
// and backslash is copied as it is (every name, address, MAC and state we store); anything else
// goes through nlohmann, so escapes and the replacement of bad UTF-8 are its own.
void append_string(std::string& out, std::string_view v) {
    bool plain = true;
    for (char c : v) {
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
            plain = false;
            break;
        }
    }
    if (!plain) {
        out += json(std::string(v)).dump(-1, ' ', false, json::error_handler_t::replace);
        return;
    }
    out += '"';
    out += v;
    out += '"';
}

void append_number(std::string& out, std::int64_t v) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
    out.append(digits, end);
}


}  // namespace

json host_json(const Host& h) {
    return {{"id", h.id},
            {"mac", h.mac.str()},
            {"name", h.name},
            {"ip", h.ip},
            {"rack", h.rack},
            {"state", to_string(h.state)},
            {"facts", parsed_facts(h.facts_json)},
            {"image", h.image ? json(*h.image) : json(nullptr)},
            {"created_at", h.created_at},
            {"updated_at", h.updated_at}};
}

// The keys in host_json's order once dumped (nlohmann's objects are sorted by key).
void append_host_json(std::string& out, const Host& h, std::string_view power) {
    out += "{\"created_at\":";
    append_number(out, h.created_at);
    out += ",\"facts\":";
    if (h.facts_json.empty())
        out += "null";
    else
        out += parsed_facts(h.facts_json).dump(-1, ' ', false, json::error_handler_t::replace);
    out += ",\"id\":";
    append_number(out, h.id);
    out += ",\"image\":";
    if (h.image)
        append_number(out, *h.image);
    else
        out += "null";
    out += ",\"ip\":";
    append_string(out, h.ip);
    out += ",\"mac\":";
    append_string(out, h.mac.str());
    out += ",\"name\":";
    append_string(out, h.name);
    if (!power.empty()) {
        out += ",\"power\":";
        out += power;
    }
    out += ",\"rack\":";
    append_string(out, h.rack);
    out += ",\"state\":";
    append_string(out, to_string(h.state));
    out += ",\"updated_at\":";
    append_number(out, h.updated_at);
    out += '}';
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
