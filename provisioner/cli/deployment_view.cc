#include "deployment_view.h"

#include <array>
#include <utility>

#include "imaging/progress.h"
#include "output/format.h"
#include "output/table.h"

namespace provisioner::cli {
namespace {

constexpr std::array kTargetStates = {"succeeded", "running", "pending", "failed"};

}  // namespace

std::string counts_summary(const nlohmann::json& deployment) {
    std::array<std::uint64_t, kTargetStates.size()> n{};
    std::uint64_t total = 0;
    const auto& counts = field(deployment, "counts");
    if (counts.is_object()) {
        for (std::size_t i = 0; i < kTargetStates.size(); ++i) {
            n[i] = count(field(counts, kTargetStates[i]));
            total += n[i];
        }
    } else if (field(deployment, "targets").is_array()) {
        for (const auto& target : deployment["targets"]) {
            ++total;
            for (std::size_t i = 0; i < kTargetStates.size(); ++i) {
                if (field(target, "state") == kTargetStates[i]) ++n[i];
            }
        }
    }
    std::string out = std::to_string(total) + (total == 1 ? " host" : " hosts");
    std::string sep = ": ";
    for (std::size_t i = 0; i < kTargetStates.size(); ++i) {
        if (n[i] == 0) continue;
        out += sep + std::to_string(n[i]) + " " + kTargetStates[i];
        sep = ", ";
    }
    return out;
}

std::string deployment_headline(const nlohmann::json& deployment) {
    return "deployment " + text(field(deployment, "id")) + "  " +
           image_label(field(deployment, "image")) + "  " + text(field(deployment, "transport")) +
           "  " + text(field(deployment, "state")) + "  " + counts_summary(deployment);
}

std::string bytes_progress(const nlohmann::json& target) {
    const auto& done = field(target, "bytes_done");
    const auto& total = field(target, "bytes_total");
    if (count(total) == 0) return count(done) > 0 ? format_bytes(done) : "-";
    if (count(done) == count(total)) return format_bytes(total);
    return format_bytes(done) + " / " + format_bytes(total);
}

std::string render_targets(const nlohmann::json& deployment) {
    Table table({"HOST", "MAC", "STATE", "TRANSPORT", "PROGRESS", "STARTED", "SECONDS", "ERROR"});
    for (const auto& target : field(deployment, "targets")) {
        table.add_row({text(field(target, "name")), text(field(target, "mac")),
                       text(field(target, "state")), text(field(target, "transport")),
                       bytes_progress(target), format_time(field(target, "started_at")),
                       format_seconds(field(target, "started_at"), field(target, "finished_at")),
                       text(field(target, "error"))});
    }
    table.align_right(6);
    return table.render();
}

std::string render_final_summary(const nlohmann::json& deployment) {
    Table table({"HOST", "STATE", "TRANSPORT", "BYTES", "SECONDS", "ERROR"});
    for (const auto& target : field(deployment, "targets")) {
        table.add_row({text(field(target, "name")), text(field(target, "state")),
                       text(field(target, "transport")), bytes_progress(target),
                       format_seconds(field(target, "started_at"), field(target, "finished_at")),
                       text(field(target, "error"))});
    }
    table.align_right(4);
    return table.render() + "deployment " + text(field(deployment, "id")) + " " +
           text(field(deployment, "state")) + ": " + counts_summary(deployment) + "\n";
}

}  // namespace provisioner::cli
