#include "simulation.h"

namespace provisioner::reconcile {
namespace {

Status bad(const Action& action, const std::string& why) {
    return Status::error(Code::invalid_argument, action_text(action) + ": " + why);
}

}  // namespace

const char* to_string(ActionKind kind) {
    switch (kind) {
        case ActionKind::create:
            return "create";
        case ActionKind::remove:
            return "remove";
        case ActionKind::reconfigure:
            return "reconfigure";
        case ActionKind::migrate:
            return "migrate";
    }
    return "unknown";
}

std::string action_text(const Action& action) {
    std::string text = std::string(to_string(action.kind)) + " " + action.vm;
    const std::string size = " (" + std::to_string(action.vcpus) + " vcpus, " +
                             std::to_string(action.memory_mib) + " MiB";
    switch (action.kind) {
        case ActionKind::create:
            return text + " on " + action.host + size +
                   (action.image.empty() ? ")" : ", image " + action.image + ")");
        case ActionKind::remove:
            return text + " from " + action.host;
        case ActionKind::reconfigure:
            return text + " on " + action.host + " to" + size + ")";
        case ActionKind::migrate:
            return text + " from " + action.from_host + " to " + action.host + size + ")";
    }
    return text;
}

Result<Simulation> Simulation::from(const ActualState& actual) {
    Simulation sim;
    for (const ActualHost& host : actual.hosts) {
        const int h = static_cast<int>(sim.hosts_.size());
        for (const std::string* id : {&host.name, &host.address}) {
            if (id->empty()) continue;
            auto [it, inserted] = sim.host_index_.emplace(*id, h);
            if (!inserted && it->second != h)
                return Status::error(Code::invalid_argument,
                                     "actual state: host \"" + *id + "\" reported twice");
        }
        sim.hosts_.push_back({host.name, host.address, host.vcpus, host.memory_mib,
                              host.reserved_vcpus, host.reserved_memory_mib, host.reserved_vcpus,
                              host.reserved_memory_mib});
        for (const RunningVm& vm : host.vms) {
            auto [it, inserted] =
                sim.vms_.emplace(vm.name, Placed{h, vm.vcpus, vm.memory_mib, vm.image});
            if (!inserted)
                return Status::error(Code::invalid_argument,
                                     "actual state: VM " + vm.name + " reported on both " +
                                         sim.hosts_[it->second.host].name + " and " + host.name);
            sim.use(h, vm.vcpus, static_cast<std::int64_t>(vm.memory_mib));
        }
    }
    return sim;
}

int Simulation::host(std::string_view id) const {
    auto it = host_index_.find(std::string(id));
    return it == host_index_.end() ? -1 : it->second;
}

const Simulation::Placed* Simulation::find(const std::string& vm) const {
    auto it = vms_.find(vm);
    return it == vms_.end() ? nullptr : &it->second;
}

bool Simulation::has_room(int h, std::uint64_t vcpus, std::uint64_t memory_mib) const {
    const HostUse& host = hosts_[h];
    return host.used_vcpus + vcpus <= host.vcpus &&
           host.used_memory_mib + memory_mib <= host.memory_mib;
}

void Simulation::use(int h, std::int64_t vcpus, std::int64_t memory_mib) {
    hosts_[h].used_vcpus =
        static_cast<std::uint64_t>(static_cast<std::int64_t>(hosts_[h].used_vcpus) + vcpus);
    hosts_[h].used_memory_mib = static_cast<std::uint64_t>(
        static_cast<std::int64_t>(hosts_[h].used_memory_mib) + memory_mib);
}

// A host already over its capacity (reported so) may keep running; what it may not do is take
// more of a dimension it has no room for.
Status Simulation::check_growth(int h, std::uint64_t old_vcpus, std::uint64_t old_memory,
                                std::uint64_t new_vcpus, std::uint64_t new_memory,
                                const Action& action) const {
    const HostUse& host = hosts_[h];
    const std::uint64_t more_vcpus = new_vcpus > old_vcpus ? new_vcpus - old_vcpus : 0;
    const std::uint64_t more_memory = new_memory > old_memory ? new_memory - old_memory : 0;
    if ((more_vcpus && host.used_vcpus + more_vcpus > host.vcpus) ||
        (more_memory && host.used_memory_mib + more_memory > host.memory_mib))
        return bad(action, "would overcommit " + host.name + " (" +
                               std::to_string(host.used_vcpus) + "/" + std::to_string(host.vcpus) +
                               " vcpus, " + std::to_string(host.used_memory_mib) + "/" +
                               std::to_string(host.memory_mib) + " MiB in use)");
    return Status::ok();
}

Status Simulation::apply(const Action& action) {
    const int h = host(action.host);
    if (h < 0) return bad(action, "no such host " + action.host);
    auto it = vms_.find(action.vm);
    switch (action.kind) {
        case ActionKind::create: {
            if (it != vms_.end())
                return bad(action, "it already exists on " + hosts_[it->second.host].name);
            if (action.vcpus == 0 || action.memory_mib == 0)
                return bad(action, "a VM needs vcpus and memory");
            if (Status s = check_growth(h, 0, 0, action.vcpus, action.memory_mib, action); !s)
                return s;
            vms_.emplace(action.vm, Placed{h, action.vcpus, action.memory_mib, action.image});
            use(h, action.vcpus, static_cast<std::int64_t>(action.memory_mib));
            return Status::ok();
        }
        case ActionKind::remove: {
            if (it == vms_.end() || it->second.host != h)
                return bad(action, "it is not on " + action.host);
            use(h, -std::int64_t{it->second.vcpus},
                -static_cast<std::int64_t>(it->second.memory_mib));
            vms_.erase(it);
            return Status::ok();
        }
        case ActionKind::reconfigure: {
            if (it == vms_.end() || it->second.host != h)
                return bad(action, "it is not on " + action.host);
            if (action.vcpus == 0 || action.memory_mib == 0)
                return bad(action, "a VM needs vcpus and memory");
            Placed& vm = it->second;
            if (Status s = check_growth(h, vm.vcpus, vm.memory_mib, action.vcpus, action.memory_mib,
                                        action);
                !s)
                return s;
            use(h, std::int64_t{action.vcpus} - vm.vcpus,
                static_cast<std::int64_t>(action.memory_mib) -
                    static_cast<std::int64_t>(vm.memory_mib));
            vm.vcpus = action.vcpus;
            vm.memory_mib = action.memory_mib;
            return Status::ok();
        }
        case ActionKind::migrate: {
            const int from = host(action.from_host);
            if (from < 0) return bad(action, "no such host " + action.from_host);
            if (it == vms_.end() || it->second.host != from)
                return bad(action, "it is not on " + action.from_host);
            if (from == h) return bad(action, "it is already there");
            Placed& vm = it->second;
            if (Status s = check_growth(h, 0, 0, vm.vcpus, vm.memory_mib, action); !s) return s;
            use(from, -std::int64_t{vm.vcpus}, -static_cast<std::int64_t>(vm.memory_mib));
            use(h, vm.vcpus, static_cast<std::int64_t>(vm.memory_mib));
            vm.host = h;
            return Status::ok();
        }
    }
    return bad(action, "unknown action");
}

}  // namespace provisioner::reconcile
