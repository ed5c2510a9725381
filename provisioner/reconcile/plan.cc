// make_plan: the diff between desired and actual, ordered so that no step overcommits a host:
// removals first, then shrinking, then migrations (each once its target has room), then
// growing, then creations. A resize that lowers one dimension and raises the other is two
// steps, so the capacity it frees is there for the steps between.
#include <algorithm>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "provisioner/reconcile.h"
#include "simulation.h"

namespace provisioner::reconcile {
namespace {

std::string size_text(std::uint64_t vcpus, std::uint64_t memory_mib) {
    return std::to_string(vcpus) + " vcpus, " + std::to_string(memory_mib) + " MiB";
}

class Planner {
  public:
    Planner(Simulation sim, const Options& options) : sim_(std::move(sim)), options_(options) {}

    Result<Plan> run(const std::vector<DesiredVm>& desired) {
        if (Status s = index(desired); !s) return s;
        if (Status s = removals(); !s) return s;
        if (Status s = shrinks(); !s) return s;
        if (Status s = migrations(); !s) return s;
        if (Status s = grows(); !s) return s;
        if (Status s = creations(); !s) return s;
        return std::move(plan_);
    }

  private:
    Status emit(Action action) {
        if (Status s = sim_.apply(action); !s)
            return s.context("the desired state does not fit the hosts");
        plan_.actions.push_back(std::move(action));
        return Status::ok();
    }

    Status index(const std::vector<DesiredVm>& desired) {
        std::string image_conflicts;
        for (const DesiredVm& vm : desired) {
            const int h = sim_.host(vm.host);
            if (h < 0)
                return Status::error(Code::invalid_argument,
                                     "VM " + vm.name + " is placed on unknown host " + vm.host);
            if (!desired_.emplace(vm.name, &vm).second)
                return Status::error(Code::invalid_argument, "VM " + vm.name + " is desired twice");
            const Simulation::Placed* now = sim_.find(vm.name);
            if (!now) {
                creates_.push_back(&vm);
                continue;
            }
            if (!now->image.empty() && !vm.image.empty() && now->image != vm.image) {
                if (!options_.recreate_on_image_change) {
                    image_conflicts +=
                        "\nVM " + vm.name + ": template " + now->image + " -> " + vm.image;
                    continue;
                }
                recreate_.insert(vm.name);
                creates_.push_back(&vm);
                continue;
            }
            kept_.push_back(&vm);
        }
        if (Status s = check_fits(desired); !s) return s;
        if (!image_conflicts.empty())
            return Status::error(Code::conflict,
                                 "a running VM's template cannot change without recreating it "
                                 "(and losing its disk):" +
                                     image_conflicts);
        return Status::ok();
    }

    // Every host can hold what the desired state puts on it (plus what it reserves).
    Status check_fits(const std::vector<DesiredVm>& desired) const {
        std::vector<std::pair<std::uint64_t, std::uint64_t>> need(sim_.host_count());
        for (int h = 0; h < sim_.host_count(); ++h)
            need[h] = {sim_.host_use(h).reserved_vcpus, sim_.host_use(h).reserved_memory_mib};
        for (const DesiredVm& vm : desired) {
            need[sim_.host(vm.host)].first += vm.vcpus;
            need[sim_.host(vm.host)].second += vm.memory_mib;
        }
        std::string over;
        for (int h = 0; h < sim_.host_count(); ++h) {
            const auto& use = sim_.host_use(h);
            if (need[h].first <= use.vcpus && need[h].second <= use.memory_mib) continue;
            over += "\n" + use.name + ": " + size_text(need[h].first, need[h].second) + " of " +
                    size_text(use.vcpus, use.memory_mib);
        }
        if (over.empty()) return Status::ok();
        return Status::error(Code::invalid_argument,
                             "the desired state does not fit the hosts:" + over);
    }

    Status removals() {
        std::vector<std::pair<std::string, Simulation::Placed>> gone;
        for (const auto& [name, placed] : sim_.vms())
            if (!desired_.count(name) || recreate_.count(name)) gone.emplace_back(name, placed);
        // Hash order is not an order to show anyone.
        std::sort(gone.begin(), gone.end(), [&](const auto& a, const auto& b) {
            return std::tie(a.second.host, a.first) < std::tie(b.second.host, b.first);
        });
        for (const auto& [name, placed] : gone) {
            Action action{ActionKind::remove,
                          name,
                          sim_.host_name(placed.host),
                          "",
                          placed.vcpus,
                          placed.memory_mib,
                          "",
                          ""};
            action.reason = recreate_.count(name) ? "its template changed; created again below"
                                                  : "no longer in the site file";
            if (Status s = emit(std::move(action)); !s) return s;
        }
        return Status::ok();
    }

    Status shrinks() {
        for (const DesiredVm* vm : kept_) {
            const Simulation::Placed now = *sim_.find(vm->name);
            const std::uint32_t vcpus = std::min(now.vcpus, vm->vcpus);
            const std::uint64_t memory = std::min(now.memory_mib, vm->memory_mib);
            if (vcpus == now.vcpus && memory == now.memory_mib) continue;
            const bool final_size = vcpus == vm->vcpus && memory == vm->memory_mib;
            Action action{ActionKind::reconfigure,
                          vm->name,
                          sim_.host_name(now.host),
                          "",
                          vcpus,
                          memory,
                          "",
                          ""};
            action.reason = "from " + size_text(now.vcpus, now.memory_mib) +
                            (final_size ? "" : "; grows again after the moves");
            if (Status s = emit(std::move(action)); !s) return s;
        }
        return Status::ok();
    }

    Status migrations() {
        std::vector<const DesiredVm*> pending;
        for (const DesiredVm* vm : kept_)
            if (sim_.find(vm->name)->host != sim_.host(vm->host)) pending.push_back(vm);
        while (!pending.empty()) {
            std::vector<const DesiredVm*> blocked;
            for (const DesiredVm* vm : pending) {
                const Simulation::Placed now = *sim_.find(vm->name);
                const int to = sim_.host(vm->host);
                if (!sim_.has_room(to, now.vcpus, now.memory_mib)) {
                    blocked.push_back(vm);
                    continue;
                }
                Action action{ActionKind::migrate,
                              vm->name,
                              sim_.host_name(to),
                              sim_.host_name(now.host),
                              now.vcpus,
                              now.memory_mib,
                              "",
                              ""};
                action.reason = vm->reason.empty() ? "placed on " + vm->host : vm->reason;
                if (Status s = emit(std::move(action)); !s) return s;
            }
            if (blocked.size() == pending.size()) {
                std::string stuck;
                for (const DesiredVm* vm : blocked)
                    stuck += "\nVM " + vm->name + ": " + sim_.host_name(sim_.find(vm->name)->host) +
                             " -> " + vm->host;
                return Status::error(Code::invalid_argument,
                                     "no order of the migrations avoids overcommitting a host "
                                     "(free some room, or move them over two applies):" +
                                         stuck);
            }
            pending = std::move(blocked);
        }
        return Status::ok();
    }

    Status grows() {
        for (const DesiredVm* vm : kept_) {
            const Simulation::Placed now = *sim_.find(vm->name);
            if (now.vcpus == vm->vcpus && now.memory_mib == vm->memory_mib) continue;
            Action action{ActionKind::reconfigure,
                          vm->name,
                          sim_.host_name(now.host),
                          "",
                          vm->vcpus,
                          vm->memory_mib,
                          "",
                          ""};
            action.reason = "from " + size_text(now.vcpus, now.memory_mib);
            if (Status s = emit(std::move(action)); !s) return s;
        }
        return Status::ok();
    }

    Status creations() {
        for (const DesiredVm* vm : creates_) {
            Action action{ActionKind::create,
                          vm->name,
                          sim_.host_name(sim_.host(vm->host)),
                          "",
                          vm->vcpus,
                          vm->memory_mib,
                          vm->image,
                          ""};
            action.reason = recreate_.count(vm->name) ? "its template changed"
                            : vm->reason.empty()      ? "new in the site file"
                                                      : "new; " + vm->reason;
            if (Status s = emit(std::move(action)); !s) return s;
        }
        return Status::ok();
    }

    Simulation sim_;
    Options options_;
    Plan plan_;
    std::unordered_map<std::string, const DesiredVm*> desired_;
    std::unordered_set<std::string> recreate_;
    std::vector<const DesiredVm*> kept_;     // exist now and later (maybe moved or resized)
    std::vector<const DesiredVm*> creates_;  // desired order
};

}  // namespace

Result<Plan> make_plan(const std::vector<DesiredVm>& desired, const ActualState& actual,
                       const Options& options) {
    auto sim = Simulation::from(actual);
    if (!sim) return sim.status();
    auto plan = Planner(std::move(*sim), options).run(desired);
    if (!plan) return plan;
    if (Status s = validate_plan(*plan, actual); !s) return s.context("internal: plan invalid");
    return plan;
}

}  // namespace provisioner::reconcile
