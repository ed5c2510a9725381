// The API's JSON shapes of the inventory's records (provisioner/API.md, "Records").
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "provisioner/records.h"

namespace provisioner::server {

nlohmann::json host_json(const Host& host);
// Appends to out the bytes of host_json(host) as the API sends them (no indent, bytes that
// are not UTF-8 replaced), written directly rather than through a JSON tree: a host list is
// thousands of these per request.
// power: the host's BMC view (bmc_view_json, dumped) as "power", or empty for none.
void append_host_json(std::string& out, const Host& host, std::string_view power = {});
nlohmann::json image_json(const Image& image);
nlohmann::json event_json(const Event& event);
nlohmann::json template_json(const Template& t);
// Without targets; add them with target_json.
nlohmann::json deployment_json(const Deployment& deployment, const Image* image);
nlohmann::json target_json(const DeploymentTarget& target, const Host* host);

}  // namespace provisioner::server
