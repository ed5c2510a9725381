#include "watch_log.h"

#include <algorithm>

#include "deployment_view.h"
#include "imaging/progress.h"
#include "output/format.h"

namespace provisioner::cli {
namespace {

std::string target_key(const nlohmann::json& target) {
    const auto& host = field(target, "host");
    return host.is_null() ? text(field(target, "name")) : host.dump();
}

}  // namespace

std::string target_state_line(const nlohmann::json& target) {
    std::string state = text(field(target, "state"));
    std::string line = text(field(target, "name")) + ": " + state;
    if (state == "running") {
        line += " (" + text(field(target, "transport")) + ")";
    } else if (state == "succeeded") {
        line += ", " + bytes_progress(target) + " in " +
                format_seconds(field(target, "started_at"), field(target, "finished_at")) + " s";
    } else if (state == "failed") {
        std::string error = text(field(target, "error"));
        if (error != "-") line += ": " + error;
    }
    return line;
}

std::string progress_summary_line(const nlohmann::json& deployment) {
    std::uint64_t done = 0, total = 0;
    for (const auto& target : field(deployment, "targets")) {
        std::uint64_t target_total = count(field(target, "bytes_total"));
        std::uint64_t target_done = count(field(target, "bytes_done"));
        if (field(target, "state") == "succeeded") target_done = target_total;
        done += std::min(target_done, target_total);
        total += target_total;
    }
    std::string line = "progress: ";
    if (total > 0) {
        line += imaging::human_bytes(double(done)) + " / " + imaging::human_bytes(double(total)) +
                " (" + std::to_string(done * 100 / total) + "%); ";
    }
    return line + counts_summary(deployment);
}

std::vector<std::string> WatchLog::update(const nlohmann::json& deployment, Clock::time_point now) {
    std::vector<std::string> lines;
    if (!last_summary_) {
        lines.push_back(deployment_headline(deployment));
        last_summary_ = now;
    }
    for (const auto& target : field(deployment, "targets")) {
        std::string state = text(field(target, "state"));
        auto [it, inserted] = state_by_target_.try_emplace(target_key(target), state);
        if (!inserted && it->second == state) continue;
        it->second = state;
        lines.push_back(target_state_line(target));
    }
    bool running = field(deployment, "state") == "running";
    if (running && now - *last_summary_ >= summary_every_) {
        lines.push_back(progress_summary_line(deployment));
        last_summary_ = now;
    }
    return lines;
}

}  // namespace provisioner::cli
