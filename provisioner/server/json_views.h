// The API's JSON shapes of the inventory's records (provisioner/API.md, "Records").
#pragma once

#include <nlohmann/json.hpp>

#include "provisioner/records.h"

namespace provisioner::server {

nlohmann::json host_json(const Host& host);
nlohmann::json image_json(const Image& image);
nlohmann::json event_json(const Event& event);
nlohmann::json template_json(const Template& t);
// Without targets; add them with target_json.
nlohmann::json deployment_json(const Deployment& deployment, const Image* image);
nlohmann::json target_json(const DeploymentTarget& target, const Host* host);

}  // namespace provisioner::server
