#include "provisioner/reconcile.h"
#include "simulation.h"

namespace provisioner::reconcile {

Status validate_plan(const Plan& plan, const ActualState& actual) {
    auto sim = Simulation::from(actual);
    if (!sim) return sim.status();
    for (std::size_t i = 0; i < plan.actions.size(); ++i) {
        if (Status s = sim->apply(plan.actions[i]); !s)
            return s.context("step " + std::to_string(i + 1));
    }
    return Status::ok();
}

std::string Plan::describe() const {
    if (actions.empty()) return "nothing to do";
    std::string text;
    for (const Action& action : actions) {
        if (!text.empty()) text += '\n';
        text += action_text(action);
        if (!action.reason.empty()) text += ": " + action.reason;
    }
    return text;
}

}  // namespace provisioner::reconcile
