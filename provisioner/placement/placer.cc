// The Placer implementations: each algorithm is the shared engine with its own Chooser.
#include <memory>

#include "engine.h"
#include "first_fit.h"
#include "provisioner/placement.h"
#include "turns.h"

namespace provisioner::placement {
namespace {

class FirstFitPlacer : public Placer {
  public:
    explicit FirstFitPlacer(const Options& options) : options_(options) {}
    std::string_view name() const override { return "first-fit"; }
    Result<Placement> place(const Request& request) const override {
        FirstFitChooser chooser(options_);
        return run_placement(request, chooser);
    }

  private:
    Options options_;
};

class TurnsPlacer : public Placer {
  public:
    explicit TurnsPlacer(bool weighted) : weighted_(weighted) {}
    std::string_view name() const override {
        return weighted_ ? "weighted-round-robin" : "round-robin";
    }
    Result<Placement> place(const Request& request) const override {
        TurnsChooser chooser(weighted_);
        return run_placement(request, chooser);
    }

  private:
    bool weighted_;
};

bool valid_threshold(double t) {
    return t > 0 && t <= 1;
}

}  // namespace

const std::vector<std::string>& placer_names() {
    static const std::vector<std::string> names{"first-fit", "round-robin", "weighted-round-robin"};
    return names;
}

Result<std::unique_ptr<Placer>> make_placer(std::string_view algorithm, const Options& options) {
    if (!valid_threshold(options.cpu_threshold) || !valid_threshold(options.memory_threshold))
        return Status::error(Code::invalid_argument,
                             "placement thresholds must be in (0, 1], got " +
                                 std::to_string(options.cpu_threshold) + " and " +
                                 std::to_string(options.memory_threshold));
    std::unique_ptr<Placer> placer;
    if (algorithm == "first-fit") placer = std::make_unique<FirstFitPlacer>(options);
    if (algorithm == "round-robin") placer = std::make_unique<TurnsPlacer>(false);
    if (algorithm == "weighted-round-robin") placer = std::make_unique<TurnsPlacer>(true);
    if (placer) return placer;
    std::string known;
    for (const std::string& name : placer_names()) known += (known.empty() ? "" : ", ") + name;
    return Status::error(
        Code::invalid_argument,
        "unknown placement algorithm \"" + std::string(algorithm) + "\" (known: " + known + ")");
}

Status Placement::status() const {
    if (unplaced.empty()) return Status::ok();
    std::string message = std::to_string(unplaced.size()) + " VM(s) cannot be placed:";
    for (const Unplaced& u : unplaced) message += "\nvm " + u.vm + ": " + u.reason;
    return Status::error(Code::invalid_argument, message);
}

}  // namespace provisioner::placement
