// SO-MVDS's hot templates: those the hosts should hold before a VM needs them, pre-copied by
// the delta transport (provisioner/API.md, "Templates"). The rest cool down and the hosts
// dispose of them.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "provisioner/records.h"

namespace provisioner::server {

// The hot templates of catalog at now: those whose last_used_at is within cool_down, the
// newest version of every name with such a version (so that a new version of a template in
// use reaches the hosts before the first VM needs it), and the backing chain of each. Every
// backing template comes before the templates on it; otherwise by name, then version.
std::vector<Template> hot_templates(const std::vector<Template>& catalog, Timestamp now,
                                    std::chrono::seconds cool_down);

// Where a template's delta server listens ("ADDR:PORT") and the secret it authenticates its
// receivers with (64 hex digits, imaging/delta/PROTOCOL.md): what a Dom0 agent pre-copies by.
struct TemplateDelta {
    std::string address;
    std::string secret;
};

// {"hot": [{"template": "name@version", "size", "sha256", "format", "labels",
// "backing": "name@version"|null, "delta": ADDR:PORT|null, "secret": HEX|null}], "cool_down":
// seconds, "pubkey": pubkey_pem}: the "templates" of the answer to POST /api/v1/agent/vms.
// delta(t) is nullopt while t's delta server does not listen yet (t is still listed: hot, so
// kept by the hosts, but not pre-copied yet). pubkey_pem is the server's image signing key,
// which the agents check pre-copies against.
nlohmann::json hot_templates_json(
    const std::vector<Template>& hot,
    const std::function<std::optional<TemplateDelta>(const Template&)>& delta,
    std::chrono::seconds cool_down, const std::string& pubkey_pem);

}  // namespace provisioner::server
