// `deployment watch` when stdout is not a terminal (a log, CI, a pipe): a line per host when its
// state changes, and a progress summary at most every summary_every, so that the log stays
// short however long the deployment runs.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"

namespace provisioner::cli {

class WatchLog {
  public:
    using Clock = base::Clock;
    explicit WatchLog(std::chrono::milliseconds summary_every = std::chrono::seconds(5))
        : summary_every_(summary_every) {}

    // The lines (without '\n') to print for this snapshot of a Deployment taken at now.
    // The first snapshot prints the deployment's headline and every host's state.
    std::vector<std::string> update(const nlohmann::json& deployment, Clock::time_point now);

  private:
    std::chrono::milliseconds summary_every_;
    std::map<std::string, std::string> state_by_target_;
    std::optional<Clock::time_point> last_summary_;
};

// "h1: failed: disk write error", "h1: succeeded, 2.0 GiB in 43.1 s", "h1: running (multicast)"
std::string target_state_line(const nlohmann::json& target);

// "progress: 1.0 GiB / 6.0 GiB (16%); 3 hosts: 1 succeeded, 2 running"
std::string progress_summary_line(const nlohmann::json& deployment);

}  // namespace provisioner::cli
