// VmRegistry and the store: reading the cache back, and writing what a change touched.
#include "vm_registry.h"
#include "vm_registry_rows.h"

namespace provisioner::server {

Status VmRegistry::load() {
    std::lock_guard lock(mu_);
    dirty_ = {};
    return load_locked();
}

Status VmRegistry::read_actions_locked(std::map<ApplyId, Apply>& applies,
                                       std::map<ActionId, VmAction>& actions) const {
    auto apply_rows = store_.list_vm_applies();
    if (!apply_rows) return apply_rows.status();
    auto action_rows = store_.list_vm_actions();
    if (!action_rows) return action_rows.status();
    for (const VmApplyRow& row : *apply_rows)
        applies.emplace(ApplyId(row.id), Apply{ApplyId(row.id), row.created_at, {}});
    for (const VmActionRow& row : *action_rows) {  // by id: each apply's steps in order
        auto action = action_from_row(row);
        if (!action) return action.status();
        if (action->apply != 0) {
            auto apply = applies.find(action->apply);
            if (apply == applies.end())
                return Status::error(Code::storage,
                                     "VM action " + std::to_string(row.id) + " names apply " +
                                         std::to_string(row.apply) + ", which the store lacks");
            apply->second.steps.push_back(action->id);
        }
        actions.emplace(action->id, std::move(*action));
    }
    return Status::ok();
}

Status VmRegistry::load_locked() {
    std::map<ApplyId, Apply> applies;
    std::map<ActionId, VmAction> actions;
    if (Status s = read_actions_locked(applies, actions); !s) return s;
    auto report_rows = store_.list_host_reports();
    if (!report_rows) return report_rows.status();
    std::map<HostId, HostReport> reports;
    std::map<HostId, std::pair<std::string, Timestamp>> stored;
    for (const HostReportRow& row : *report_rows) {
        auto report = report_from_row(row);
        if (!report) return report.status();
        stored[row.host] = {row.body, row.reported_at};
        reports.emplace(row.host, std::move(*report));
    }
    applies_ = std::move(applies);
    actions_ = std::move(actions);
    reports_ = std::move(reports);
    stored_reports_ = std::move(stored);
    refreshes_.clear();  // times only: what the store holds is what it says
    return Status::ok();
}

Status VmRegistry::sync_actions(Timestamp now, bool force) {
    std::lock_guard lock(mu_);
    if (!force && actions_synced_at_ != 0 && now >= actions_synced_at_ &&
        now - actions_synced_at_ < kActionSync)
        return Status::ok();
    actions_synced_at_ = now;
    std::map<ApplyId, Apply> applies;
    std::map<ActionId, VmAction> actions;
    if (Status s = read_actions_locked(applies, actions); !s)
        return s.context("reading the VM actions back");
    applies_ = std::move(applies);
    actions_ = std::move(actions);
    // An answer taken by another server releases the steps behind it there; one that raced
    // with an answer here (each read the other's step as unanswered) is released now.
    dirty_ = {};
    for (auto& [id, apply] : applies_) release_locked(apply);
    if (dirty_.actions.empty()) return Status::ok();
    return flush_locked().context("releasing the VM actions that answers elsewhere freed");
}

Status VmRegistry::flush_locked() {
    Dirty dirty = std::exchange(dirty_, {});
    std::map<HostId, std::pair<std::string, Timestamp>> written;
    Status s = store_.transaction([&]() -> Status {
        for (ApplyId id : dirty.applies) {
            auto it = applies_.find(id);
            if (it == applies_.end()) continue;  // trimmed in the same change
            if (Status p = store_.put_vm_apply({std::int64_t(id), it->second.created_at, "{}"}); !p)
                return p;
        }
        for (ActionId id : dirty.actions) {
            auto it = actions_.find(id);
            if (it == actions_.end()) continue;
            if (Status p = store_.put_vm_action(action_row(it->second)); !p) return p;
        }
        for (HostId host : dirty.reports) {
            auto it = reports_.find(host);
            if (it == reports_.end()) continue;
            std::string body = report_body(it->second);
            if (Status p = store_.put_host_report({host, it->second.reported_at, body}); !p)
                return p;
            written[host] = {std::move(body), it->second.reported_at};
        }
        for (ActionId id : dirty.removed_actions)
            if (Status r = store_.remove_vm_action(id); !r) return r;
        for (ApplyId id : dirty.removed_applies)
            if (Status r = store_.remove_vm_apply(id); !r) return r;
        return Status::ok();
    });
    if (!s) {
        // The store is the truth: drop what memory holds beyond it.
        if (Status reread = load_locked(); !reread)
            return s.context("and reading the VM registry back failed too (" + reread.message() +
                             ")");
        return s;
    }
    for (auto& [host, body] : written) stored_reports_[host] = std::move(body);
    return Status::ok();
}

}  // namespace provisioner::server
