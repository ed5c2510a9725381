// How a Deployment reads in text: its one-line headline, its per-host table, and the summary
// that ends `deployment watch`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace provisioner::cli {

// "3 hosts: 1 succeeded, 1 running, 1 pending" (zero counts left out), from "counts" or, when
// the server sent none, from the targets.
std::string counts_summary(const nlohmann::json& deployment);

// "deployment 3  dom0@2  multicast  running  3 hosts: 1 succeeded, 2 running"
std::string deployment_headline(const nlohmann::json& deployment);

// HOST MAC STATE TRANSPORT PROGRESS STARTED SECONDS ERROR, one row per target.
std::string render_targets(const nlohmann::json& deployment);

// The table that ends a watch (HOST STATE TRANSPORT BYTES SECONDS ERROR) and the verdict line:
// "deployment 3 succeeded: 3 hosts: 3 succeeded".
std::string render_final_summary(const nlohmann::json& deployment);

// "2.0 GiB" when done == total, else "1.0 GiB / 2.0 GiB"; "-" while nothing is known.
std::string bytes_progress(const nlohmann::json& target);

}  // namespace provisioner::cli
