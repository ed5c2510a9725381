#include "vm_registry.h"

#include "vm_registry_rows.h"

#include <fnmatch.h>

#include <algorithm>
#include <utility>

namespace provisioner::server {

const char* to_string(MovePart part) {
    switch (part) {
        case MovePart::none:
            return "";
        case MovePart::send:
            return "move_send";
        case MovePart::receive:
            return "move_receive";
        case MovePart::finish:
            return "move_finish";
        case MovePart::abort:
            return "move_abort";
    }
    return "";
}

const char* to_string(ActionState state) {
    switch (state) {
        case ActionState::waiting:
            return "waiting";
        case ActionState::released:
            return "released";
        case ActionState::done:
            return "done";
        case ActionState::failed:
            return "failed";
        case ActionState::skipped:
            return "skipped";
    }
    return "unknown";
}

VmSpec spec_from_site(const site::Site& site, const site::Vm& vm) {
    VmSpec spec{vm.name, vm.vcpus, vm.memory_mib, vm.image.str(), {}};
    for (const site::Interface& i : vm.interfaces) {
        VmInterfaceSpec out{i.hwaddr, i.network, 0};
        for (const site::Network& n : site.networks)
            if (n.name == i.network) out.vlan = n.vlan;
        spec.interfaces.push_back(std::move(out));
    }
    return spec;
}

namespace {

bool touches_same_host(const reconcile::Action& a, const reconcile::Action& b) {
    auto touches = [](const reconcile::Action& x, const std::string& host) {
        return !host.empty() && (x.host == host || x.from_host == host);
    };
    return touches(a, b.host) || touches(a, b.from_host);
}

// Whether a and b store the same body (report_body), reported_at aside.
bool same_content(const HostReport& a, const HostReport& b) {
    auto same_vm = [](const ReportedVm& x, const ReportedVm& y) {
        return x.name == y.name && x.vcpus == y.vcpus && x.memory_mib == y.memory_mib &&
               x.template_ref == y.template_ref && x.state == y.state &&
               x.domain_type == y.domain_type && x.restart_pending == y.restart_pending;
    };
    auto same_missing = [](const MissingVm& x, const MissingVm& y) {
        return x.name == y.name && x.last_state == y.last_state && x.since == y.since;
    };
    return a.name == b.name && a.ip == b.ip && a.capacity == b.capacity &&
           a.templates == b.templates &&
           std::equal(a.vms.begin(), a.vms.end(), b.vms.begin(), b.vms.end(), same_vm) &&
           std::equal(a.missing.begin(), a.missing.end(), b.missing.begin(), b.missing.end(),
                      same_missing);
}

}  // namespace

Status VmRegistry::report(HostReport report) {
    std::lock_guard lock(mu_);
    // Logged before the report that carries the flag is kept: a failure here is answered and
    // the agent's next report finds the VM gone again, so the event is never lost.
    for (const std::string& vm : flag_missing_locked(report)) {
        Event e;
        e.host = report.host;
        e.reason = "VM " + vm + " is gone from the report of " + report.name +
                   "'s Dom0 agent with no action for it: flagged missing";
        if (auto logged = store_.log_event(e); !logged)
            return logged.status().context("recording that VM " + vm + " is missing");
    }
    // What the store holds of a host is what reports_ holds (every change of reports_ is
    // written before the call returns), so an unchanged report is told from reports_ without
    // making its body (a JSON of every VM: most of the cost of keeping a report).
    auto previous = reports_.find(report.host);
    auto stored = stored_reports_.find(report.host);
    const bool same = previous != reports_.end() && stored != stored_reports_.end() &&
                      same_content(previous->second, report);
    const HostId host = report.host;
    const Timestamp at = report.reported_at;
    if (!same) {
        std::string body = report_body(report);
        if (Status s = store_.put_host_report({host, at, body}); !s)
            return s.context("keeping the report of " + report.name);
        stored_reports_[host] = {std::move(body), at};
        refreshes_.erase(host);
    } else if (at - stored->second.second >= kReportRefresh) {
        if (refreshes_.empty()) refreshes_since_ = at;
        refreshes_[host] = at;
    }
    reports_[host] = std::move(report);
    if (!refreshes_.empty() &&
        (refreshes_.size() >= kRefreshBatch || at - refreshes_since_ >= kRefreshWindow))
        return write_refreshes_locked().context("refreshing the reports' times");
    return Status::ok();
}

Status VmRegistry::write_refreshes_locked() {
    Status s = store_.transaction([&]() -> Status {
        for (const auto& [host, at] : refreshes_) {
            auto stored = stored_reports_.find(host);
            if (stored == stored_reports_.end() || stored->second.second >= at) continue;
            if (Status p = store_.put_host_report({host, at, stored->second.first}); !p) return p;
        }
        return Status::ok();
    });
    if (!s) return s;
    for (const auto& [host, at] : refreshes_) {
        auto stored = stored_reports_.find(host);
        if (stored != stored_reports_.end() && stored->second.second < at)
            stored->second.second = at;
    }
    refreshes_.clear();
    return Status::ok();
}

bool VmRegistry::action_under_way_locked(const std::string& vm) const {
    for (const auto& [id, a] : actions_)
        if (a.vm.name == vm && (a.state == ActionState::waiting || a.state == ActionState::released))
            return true;
    return false;
}

std::vector<std::string> VmRegistry::flag_missing_locked(HostReport& report) const {
    report.missing.clear();
    auto previous = reports_.find(report.host);
    if (previous == reports_.end()) return {};
    auto held = [](const HostReport& r, const std::string& vm) {
        return std::any_of(r.vms.begin(), r.vms.end(),
                           [&](const ReportedVm& v) { return v.name == vm; });
    };
    auto reported_anywhere = [&](const std::string& vm) {
        if (held(report, vm)) return true;
        for (const auto& [id, r] : reports_)
            if (id != report.host && held(r, vm)) return true;
        return false;
    };
    for (const MissingVm& m : previous->second.missing)
        if (!reported_anywhere(m.name)) report.missing.push_back(m);
    std::vector<std::string> newly;
    for (const ReportedVm& vm : previous->second.vms) {
        if (reported_anywhere(vm.name) || action_under_way_locked(vm.name)) continue;
        report.missing.push_back({vm.name, vm.state, report.reported_at});
        newly.push_back(vm.name);
    }
    return newly;
}

Result<std::vector<std::string>> VmRegistry::forget_missing(const std::string& selector) {
    std::lock_guard lock(mu_);
    std::vector<std::string> forgotten;
    for (auto& [host, r] : reports_) {
        const std::size_t before = r.missing.size();
        std::erase_if(r.missing, [&](const MissingVm& m) {
            const bool match = selector == "all" || fnmatch(selector.c_str(), m.name.c_str(), 0) == 0;
            if (match) forgotten.push_back(m.name);
            return match;
        });
        if (r.missing.size() != before) dirty_.reports.insert(host);
    }
    if (Status s = flush_locked(); !s) return s.context("forgetting missing VMs");
    return forgotten;
}

std::vector<HostReport> VmRegistry::reports() const {
    std::lock_guard lock(mu_);
    std::vector<HostReport> out;
    for (const auto& [id, r] : reports_) out.push_back(r);
    return out;
}

reconcile::ActualState VmRegistry::actual() const {
    std::lock_guard lock(mu_);
    reconcile::ActualState state;
    for (const auto& [id, r] : reports_) {
        reconcile::ActualHost h;
        h.name = r.name;
        h.address = r.ip;
        h.vcpus = r.capacity.vcpus;
        h.memory_mib = r.capacity.memory_mib;
        h.load = r.capacity.load;
        h.reserved_vcpus = r.capacity.reserved_vcpus;
        h.reserved_memory_mib = r.capacity.reserved_memory_mib;
        for (const ReportedVm& vm : r.vms)
            h.vms.push_back({vm.name, vm.vcpus, vm.memory_mib, vm.template_ref});
        state.hosts.push_back(std::move(h));
    }
    return state;
}

const HostReport* VmRegistry::report_by_name_locked(const std::string& name) const {
    for (const auto& [id, r] : reports_)
        if (r.name == name) return &r;
    return nullptr;
}

Result<std::vector<VmAction>> VmRegistry::actions_for_locked(const reconcile::Action& step,
                                                             const site::Site& site,
                                                             ApplyId apply) const {
    const bool moves = step.kind == reconcile::ActionKind::migrate;
    const std::string& agent = moves ? step.from_host : step.host;
    const HostReport* runs = report_by_name_locked(agent);
    if (!runs)
        return Status::error(Code::invalid_argument, "step for VM " + step.vm + " names host " +
                                                         agent + ", which has not reported");
    VmAction a;
    a.apply = apply;
    a.step = step;
    a.host = runs->host;
    if (const site::Vm* vm = site.find_vm(step.vm)) {
        a.vm = spec_from_site(site, *vm);
    } else {
        a.vm.name = step.vm;
        for (const ReportedVm& r : runs->vms)
            if (r.name == step.vm) a.vm.template_ref = r.template_ref;
    }
    a.vm.vcpus = step.vcpus;
    a.vm.memory_mib = step.memory_mib;
    if (!step.image.empty()) a.vm.template_ref = step.image;
    if (!moves) return std::vector<VmAction>{std::move(a)};

    const HostReport* to = report_by_name_locked(step.host);
    if (!to)
        return Status::error(Code::invalid_argument,
                             "migration of " + step.vm + " to unreported host " + step.host);
    if (runs->capacity.live_migration && to->capacity.live_migration) {
        a.to_uri = to->capacity.libvirt_uri;
        return std::vector<VmAction>{std::move(a)};
    }
    a.transfer = std::to_string(apply) + "-" + step.vm;
    VmAction send = a, receive = a, finish = a;
    send.part = MovePart::send;
    receive.part = MovePart::receive;
    receive.host = to->host;
    finish.part = MovePart::finish;
    return std::vector<VmAction>{std::move(send), std::move(receive), std::move(finish)};
}

Result<ApplyId> VmRegistry::enqueue_apply(const reconcile::Plan& plan, const site::Site& site,
                                          Timestamp now) {
    std::lock_guard lock(mu_);
    // Plans come from the reports, which do not show queued steps: a second apply now would
    // queue the first one's unanswered steps again.
    for (const auto& [id, apply] : applies_)
        if (apply_state_locked(apply) == "running")
            return Status::error(Code::conflict, "apply " + std::to_string(id) +
                                                     " is still running; see provisioner site "
                                                     "status, and apply again once it is done");
    auto apply_id = store_.allocate_ids("vm_apply", 1);
    if (!apply_id) return apply_id.status();
    Apply apply{ApplyId(*apply_id), now, {}};
    std::vector<VmAction> made;
    for (const reconcile::Action& step : plan.actions) {
        auto actions = actions_for_locked(step, site, apply.id);
        if (!actions) return actions.status();
        for (VmAction& a : *actions) made.push_back(std::move(a));
    }
    auto first = allocate_actions_locked(made.size());
    if (!first) return first.status();
    for (std::size_t i = 0; i < made.size(); ++i) {
        VmAction& a = made[i];
        a.id = *first + i;
        for (std::size_t j = 0; j < i; ++j)
            if (a.step.kind == reconcile::ActionKind::migrate ||
                touches_same_host(a.step, made[j].step))
                a.after.push_back(made[j].id);
    }
    for (VmAction& a : made) {
        apply.steps.push_back(a.id);
        dirty_.actions.insert(a.id);
        actions_.emplace(a.id, std::move(a));
    }
    release_locked(apply);
    ApplyId id = apply.id;
    dirty_.applies.insert(id);
    applies_.emplace(id, std::move(apply));
    trim_locked();
    if (Status s = flush_locked(); !s) return s.context("queuing the apply");
    return id;
}

Result<ActionId> VmRegistry::allocate_actions_locked(std::size_t count) {
    if (count == 0) return ActionId(0);
    auto first = store_.allocate_ids("vm_action", std::int64_t(count));
    if (!first) return first.status();
    return ActionId(*first);
}

void VmRegistry::release_locked(Apply& apply) {
    for (ActionId id : apply.steps) {
        VmAction& a = actions_.at(id);
        if (a.state != ActionState::waiting) continue;
        bool blocked = false, behind_failure = false;
        for (ActionId before_id : a.after) {
            const ActionState before = actions_.at(before_id).state;
            if (before == ActionState::failed || before == ActionState::skipped)
                behind_failure = true;
            else if (before != ActionState::done)
                blocked = true;
        }
        if (behind_failure) {
            a.state = ActionState::skipped;
            a.error = "not run: an action it runs after failed";
            dirty_.actions.insert(id);
        } else if (!blocked) {
            a.state = ActionState::released;
            dirty_.actions.insert(id);
        }
    }
}

Status VmRegistry::queue_abort_locked(const VmAction& receive, Apply& apply) {
    auto id = allocate_actions_locked(1);
    if (!id) return id.status();
    const VmAction& send = actions_.at(receive.after.back());
    VmAction abort = send;
    abort.id = *id;
    abort.part = MovePart::abort;
    abort.after.clear();
    abort.state = ActionState::released;
    abort.error.clear();
    apply.steps.push_back(abort.id);
    dirty_.actions.insert(abort.id);
    dirty_.applies.insert(apply.id);
    actions_.emplace(abort.id, std::move(abort));
    return Status::ok();
}

std::string VmRegistry::apply_state_locked(const Apply& apply) const {
    bool all_done = true;
    for (ActionId id : apply.steps) {
        ActionState s = actions_.at(id).state;
        if (s == ActionState::failed) return "failed";
        if (s != ActionState::done) all_done = false;
    }
    return all_done ? "succeeded" : "running";
}

void VmRegistry::trim_locked() {
    std::vector<ApplyId> finished;  // newest first
    for (auto it = applies_.rbegin(); it != applies_.rend(); ++it)
        if (apply_state_locked(it->second) != "running") finished.push_back(it->first);
    for (std::size_t i = keep_applies_; i < finished.size(); ++i) {
        for (ActionId id : applies_.at(finished[i]).steps) actions_.erase(id);
        applies_.erase(finished[i]);
        dirty_.removed_applies.insert(finished[i]);  // its actions go with it
    }
}

Result<std::vector<VmAction>> VmRegistry::recall(const std::string& selector) {
    std::lock_guard lock(mu_);
    auto matches = [&](const ReportedVm& vm) {
        return selector == "all" || fnmatch(selector.c_str(), vm.name.c_str(), 0) == 0;
    };
    std::size_t count = 0;
    for (const auto& [host, r] : reports_) count += std::count_if(r.vms.begin(), r.vms.end(), matches);
    auto first = allocate_actions_locked(count);
    if (!first) return first.status();
    ActionId next = *first;
    std::vector<VmAction> made;
    for (const auto& [host, r] : reports_) {
        for (const ReportedVm& vm : r.vms) {
            if (!matches(vm)) continue;
            VmAction a;
            a.id = next++;
            a.host = host;
            a.step.kind = reconcile::ActionKind::remove;
            a.step.vm = vm.name;
            a.step.host = r.name;
            a.step.vcpus = vm.vcpus;
            a.step.memory_mib = vm.memory_mib;
            a.step.reason = "recalled (" + selector + ")";
            a.vm = {vm.name, vm.vcpus, vm.memory_mib, vm.template_ref, {}};
            a.state = ActionState::released;
            dirty_.actions.insert(a.id);
            actions_.emplace(a.id, a);
            made.push_back(std::move(a));
        }
    }
    if (Status s = flush_locked(); !s) return s.context("queuing the recall");
    return made;
}

std::vector<VmAction> VmRegistry::pending_for(HostId host) const {
    std::lock_guard lock(mu_);
    std::vector<VmAction> out;
    for (const auto& [id, a] : actions_)  // ids grow: oldest first
        if (a.host == host && a.state == ActionState::released) out.push_back(a);
    return out;
}

std::optional<HostId> VmRegistry::action_host(ActionId id) const {
    std::lock_guard lock(mu_);
    auto it = actions_.find(id);
    if (it == actions_.end()) return std::nullopt;
    return it->second.host;
}

Status VmRegistry::answer(ActionId id, bool ok, const std::string& error) {
    std::lock_guard lock(mu_);
    auto it = actions_.find(id);
    if (it == actions_.end())
        return Status::error(Code::not_found, "no action " + std::to_string(id));
    VmAction& a = it->second;
    if (a.state != ActionState::released)
        return Status::error(Code::illegal_transition,
                             "action " + std::to_string(id) + " is " + to_string(a.state));
    a.state = ok ? ActionState::done : ActionState::failed;
    a.error = ok ? "" : (error.empty() ? "failed" : error);
    dirty_.actions.insert(id);
    if (ok) record_effect_locked(a);
    if (a.apply == 0) {
        actions_.erase(it);  // a recall is reported nowhere once answered
        dirty_.removed_actions.insert(id);
        return flush_locked().context("keeping the answer to action " + std::to_string(id));
    }
    const bool ended = (a.part == MovePart::send && !ok) || a.part == MovePart::finish ||
                       a.part == MovePart::abort;
    const std::string transfer = a.transfer;
    auto apply = applies_.find(a.apply);
    if (apply != applies_.end()) {
        if (a.part == MovePart::receive && !ok) {
            a.error += "; the VM is started again on " + a.step.from_host;
            if (Status s = queue_abort_locked(a, apply->second); !s) {
                dirty_ = {};
                (void)load_locked();
                return s.context("queuing the move's abort");
            }
        }
        release_locked(apply->second);
    }
    trim_locked();
    if (Status s = flush_locked(); !s)
        return s.context("keeping the answer to action " + std::to_string(id));
    if (ended) ended_transfers_.push_back(transfer);
    return Status::ok();
}

void VmRegistry::record_effect_locked(const VmAction& a) {
    auto erase_from = [&](HostReport& r) {
        std::erase_if(r.vms, [&](const ReportedVm& vm) { return vm.name == a.vm.name; });
    };
    auto by_name = [&](const std::string& name) -> HostReport* {
        for (auto& [id, r] : reports_)
            if (r.name == name) return &r;
        return nullptr;
    };
    HostReport* here = reports_.contains(a.host) ? &reports_.at(a.host) : nullptr;
    if (!here) return;
    dirty_.reports.insert(a.host);
    ReportedVm vm{a.vm.name, a.vm.vcpus, a.vm.memory_mib, a.vm.template_ref, "running"};
    switch (a.part) {
        case MovePart::none:
            break;
        case MovePart::receive:
            erase_from(*here);
            here->vms.push_back(std::move(vm));
            return;
        case MovePart::finish:
            erase_from(*here);
            return;
        case MovePart::send:
        case MovePart::abort:
            return;  // the VM stays on the source
    }
    switch (a.step.kind) {
        case reconcile::ActionKind::remove:
            erase_from(*here);
            break;
        case reconcile::ActionKind::create:
        case reconcile::ActionKind::reconfigure:
            for (const ReportedVm& old : here->vms)
                if (old.name == vm.name && a.step.kind == reconcile::ActionKind::reconfigure)
                    vm.template_ref = old.template_ref, vm.state = old.state;
            erase_from(*here);
            here->vms.push_back(std::move(vm));
            break;
        case reconcile::ActionKind::migrate:
            erase_from(*here);
            if (HostReport* to = by_name(a.step.host)) {
                dirty_.reports.insert(to->host);
                erase_from(*to);
                to->vms.push_back(std::move(vm));
            }
            break;
    }
}

std::vector<ApplyRecord> VmRegistry::applies() const {
    std::lock_guard lock(mu_);
    std::vector<ApplyRecord> out;
    for (auto it = applies_.rbegin(); it != applies_.rend(); ++it) {
        ApplyRecord r{it->second.id, it->second.created_at, apply_state_locked(it->second), {}};
        for (ActionId id : it->second.steps) r.steps.push_back(actions_.at(id));
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace provisioner::server

namespace provisioner::server {

std::optional<TransferHosts> VmRegistry::transfer_hosts(const std::string& transfer) const {
    std::lock_guard lock(mu_);
    TransferHosts hosts;
    for (const auto& [id, a] : actions_) {
        if (a.transfer != transfer) continue;
        if (a.part == MovePart::finish || a.part == MovePart::abort) {
            if (a.state != ActionState::waiting && a.state != ActionState::released)
                return std::nullopt;  // ended
        }
        if (a.part == MovePart::send) {
            if (a.state == ActionState::failed) return std::nullopt;
            hosts.source = a.host;
        }
        if (a.part == MovePart::receive) hosts.destination = a.host;
    }
    if (hosts.source == 0 || hosts.destination == 0) return std::nullopt;
    return hosts;
}

std::vector<std::string> VmRegistry::take_ended_transfers() {
    std::lock_guard lock(mu_);
    return std::exchange(ended_transfers_, {});
}

}  // namespace provisioner::server
