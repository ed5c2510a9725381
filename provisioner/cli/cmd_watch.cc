// deployment watch ID: poll the deployment until it is no longer running.
#include <algorithm>

#include "commands.h"
#include "deployment_view.h"
#include "output/format.h"
#include "output/table.h"
#include "progress_view.h"
#include "rate_meter.h"
#include "watch_log.h"

namespace provisioner::cli {
namespace {

constexpr std::size_t kBarWidth = 24;

// Progress bars for a terminal, redrawn in place at every poll.
class BarsView {
  public:
    explicit BarsView(const Environment& env) : env_(env) {}

    std::string draw(const nlohmann::json& deployment) {
        auto now = env_.clock->now();
        std::vector<TargetProgress> targets;
        std::size_t name_width = 0;
        for (const auto& target : field(deployment, "targets")) {
            TargetProgress p = target_progress(target);
            std::string key = text(field(target, "host"));
            rates_.sample(key, now, p.bytes_done);
            p.rate = rates_.rate(key);
            name_width = std::max(name_width, display_width(p.name));
            targets.push_back(std::move(p));
        }
        std::size_t columns = env_.terminal_columns > 1 ? env_.terminal_columns - 1 : 0;
        std::vector<std::string> lines = {fit_to_width(deployment_headline(deployment), columns)};
        for (const auto& p : targets) {
            lines.push_back(fit_to_width(render_target_line(p, name_width, kBarWidth), columns));
        }
        return redraw_.frame(lines);
    }

  private:
    const Environment& env_;
    RateMeter rates_;
    TtyRedraw redraw_;
};

}  // namespace

int watch_deployment(Session& s, const std::string& id) {
    const std::string path = "/api/v1/deployments/" + path_segment(id);
    const Environment& env = s.env();
    BarsView bars(env);
    WatchLog log;
    int transport_failures = 0;
    nlohmann::json deployment;
    for (;;) {
        auto r = s.api().get(path);
        if (!r) {
            // A server restart or a network blip should not end a long watch at once; a server
            // that never answered is a mistake to report now.
            bool transient = r.error().kind == ApiError::Kind::transport && !deployment.is_null();
            if (!transient || ++transport_failures > kTransportRetries) return s.fail(r.error());
            env.clock->sleep_for(kWatchInterval);
            continue;
        }
        transport_failures = 0;
        deployment = r.json();
        if (!s.json()) {
            if (env.out_is_tty) {
                s.out() << bars.draw(deployment) << std::flush;
            } else {
                for (const auto& line : log.update(deployment, env.clock->now()))
                    s.out() << line << "\n";
                s.out() << std::flush;
            }
        }
        if (field(deployment, "state") != "running") break;
        env.clock->sleep_for(kWatchInterval);
    }
    bool succeeded = field(deployment, "state") == "succeeded";
    if (s.json()) {
        s.print_json(deployment);
    } else {
        s.out() << "\n" << render_final_summary(deployment);
    }
    return succeeded ? kExitOk : kExitFailure;
}

}  // namespace provisioner::cli
