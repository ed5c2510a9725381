// What the Dom0 agents report (each host's capacity and VMs, the latest report per host) and
// the VM actions waiting for them: the steps of `site apply` and the removals of `vm recall`.
//
// Durable: the store holds every apply, action and last report (server_state.h); the maps here
// are a cache of it. Each call that changes something writes its rows in one transaction before
// it returns, so an answer the API gives (2xx) is never lost to a kill -9; load() reads them
// back at start, and an action released to an agent and not yet answered is handed to it again.
// Action ids come from the store's sequence and are never reused, so an agent tells a
// re-delivered action from a new one by its id (agent/dom0.cc answers one it has carried out
// again with the answer it gave). When a write fails, the cache is read back from the store and
// the call fails with the store's error: memory never holds what the store does not.
//
// Each action names the actions it runs after (`after`) and is handed to its agent only once
// every one of them is answered ok; one behind a failed or skipped action is skipped. For the
// steps of one apply, `after` is every earlier action that touches any of its hosts (host or
// from_host), and for a migration every earlier action. Recall actions are released at once.
//
// A migration between two hosts that both report live_migration is one migrate action on the
// source (libvirt's migration). Otherwise it is a cold move of three actions, each after the
// one before: move_send on the source (shut the VM down, upload its overlay disk to the
// server's DiskTransfers as `transfer`), move_receive on the destination (download it, define
// and start the VM), move_finish on the source (undefine it, delete its disk). When the
// receive fails, a move_abort on the source (start the VM again there) is queued at once, so
// the VM keeps running somewhere; the apply fails with both steps' errors in its status.
//
// Thread-safe: every member takes the one mutex, and a change holds it across its store write
// (one SQLite transaction; never the orchestrator's lock). A Dom0 report whose content has not
// changed is not written before it is answered: its content is the store's already. Only its
// reported_at is refreshed, at most once per kReportRefresh, and those refreshes are written
// together, kRefreshBatch hosts or kRefreshWindow after the first of them (whichever comes
// first, by a later report), in one transaction: at 10,000 hosts, a transaction (and an
// fsync, under this mutex) per host a minute was most of the store's work. So the stored
// reported_at of an unchanged host may lag by kReportRefresh + kRefreshWindow (or more while no
// report comes in), and a kill -9 may lose the refreshes waiting (never a report's content).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "provisioner/reconcile.h"
#include "provisioner/records.h"
#include "provisioner/site.h"
#include "provisioner/status.h"
#include "provisioner/store.h"
#include "provisioner/wire/dom0.h"

namespace provisioner::server {

// What the host's Dom0 agent reports of its capacity: the wire's own type (its fields and
// their meaning are in provisioner/wire/dom0.h), kept as received but for load, clamped to [0, 1].
using VmCapacity = wire::Capacity;

// A VM as an agent reports it (API.md "Vm").
struct ReportedVm {
    std::string name;
    std::uint32_t vcpus = 0;
    std::uint64_t memory_mib = 0;
    std::string template_ref;  // site::TemplateRef::str() it was created from
    std::string state;         // libvirt's: "running", "shut off", ...
    std::string domain_type{};  // "kvm", "qemu" (TCG), "xen-pv", ...; "" when not reported
    // A resize waits in its saved configuration for the domain's next start (vcpus and
    // memory_mib are already the new values).
    bool restart_pending = false;
};

// A VM that left its host's report while no action of the server's was under way for it
// (waiting or released: a remove, migration or move): flagged, with an event, until a host
// reports it again or it is recalled (forget_missing). Kept with its host's report, so the
// flag outlives a restart.
struct MissingVm {
    std::string name;
    std::string last_state;  // its state in the last report that held it
    Timestamp since = 0;     // the first report without it
};

struct HostReport {
    HostId host = 0;
    std::string name;  // the inventory's name and IP at the time of the report
    std::string ip;
    VmCapacity capacity;
    std::vector<ReportedVm> vms;
    std::vector<MissingVm> missing;  // flagged VMs that were this host's (filled by report())
    Timestamp reported_at = 0;
    std::vector<std::string> templates;  // what its template store holds ("name@version")
};

struct VmInterfaceSpec {
    std::string mac;
    std::string network;
    std::uint16_t vlan = 0;
};

// What an agent needs to carry out an action on one VM.
struct VmSpec {
    std::string name;
    std::uint32_t vcpus = 0;
    std::uint64_t memory_mib = 0;
    std::string template_ref;
    std::vector<VmInterfaceSpec> interfaces;
};

using ActionId = std::uint64_t;
using ApplyId = std::uint64_t;

// waiting: not yet released; released: handed to the agent, unanswered; skipped: behind a
// failed step, never released.
enum class ActionState { waiting, released, done, failed, skipped };
const char* to_string(ActionState state);

// Which part of a cold move an action is (none: the step itself).
enum class MovePart { none, send, receive, finish, abort };
// "move_send", ... ("" for none): the action's kind on the wire.
const char* to_string(MovePart part);

struct VmAction {
    ActionId id = 0;
    ApplyId apply = 0;  // 0 for a recall
    HostId host = 0;    // the agent that carries it out (a migration's source)
    reconcile::Action step;
    MovePart part = MovePart::none;
    VmSpec vm;
    std::string to_uri;           // migrate only
    std::string transfer;         // a cold move's parts: the DiskTransfers id of the VM's disk
    std::vector<ActionId> after;  // released once these are done
    ActionState state = ActionState::waiting;
    std::string error;
};

// The two ends of a cold move's disk transfer.
struct TransferHosts {
    HostId source = 0;
    HostId destination = 0;
};

struct ApplyRecord {
    ApplyId id = 0;
    Timestamp created_at = 0;
    std::string state;  // running, succeeded, failed
    std::vector<VmAction> steps;
};

class VmRegistry {
  public:
    static constexpr Timestamp kReportRefresh = 60'000;
    static constexpr std::size_t kRefreshBatch = 256;
    static constexpr Timestamp kRefreshWindow = 5'000;

    // Keeps at most this many finished applies (the oldest go first). store outlives this.
    explicit VmRegistry(Store& store, std::size_t keep_applies = 100)
        : store_(store), keep_applies_(keep_applies) {}

    // Replaces the cache with what the store holds (call once at start).
    Status load();
    // Several servers on one store (issue 20): an apply queued through one server is carried
    // out by agents that may report to another, and answered there. Reads the applies and
    // their actions back from the store (not the reports), at most once per kActionSync unless
    // force, and releases the steps that answers taken elsewhere have freed. Call before
    // handing an agent its actions, on an answer to an action this cache lacks, and while
    // waiting for an apply to end. Two servers answering steps of one apply at once each
    // write only the rows they changed; a step behind both is released by the next sync on
    // either. storage when the store fails (the cache is then as it was).
    static constexpr Timestamp kActionSync = 1'000;
    Status sync_actions(Timestamp now, bool force = false);

    // storage when the report could not be kept. A VM of the host's previous report that this
    // one lacks, with no action under way for it and reported by no other host, is flagged
    // missing (report.missing; an event for the host names it); report.missing as passed is
    // ignored.
    Status report(HostReport report);

    std::vector<HostReport> reports() const;  // by host id
    // One ActualHost per reporting host, named by its inventory name, addressed by its IP.
    reconcile::ActualState actual() const;

    // Queues plan's actions as one apply; create actions take their spec from site. Fails
    // (queuing nothing) with conflict while another apply has unanswered steps, and when a step
    // names a host that has not reported.
    Result<ApplyId> enqueue_apply(const reconcile::Plan& plan, const site::Site& site,
                                  Timestamp now);
    // Remove actions for every reported VM matching a name glob ("all" matches all), released
    // at once; the actions made.
    Result<std::vector<VmAction>> recall(const std::string& selector);
    // Drops the missing flag of every missing VM matching the glob (the operator knows it is
    // gone); the names dropped. storage when the change could not be kept.
    Result<std::vector<std::string>> forget_missing(const std::string& selector);

    // The host's released, unanswered actions, oldest first.
    std::vector<VmAction> pending_for(HostId host) const;
    // The host that carries out action id, if there is one.
    std::optional<HostId> action_host(ActionId id) const;
    // Marks a released action done or failed; not_found for an unknown id, illegal_transition
    // for one not released (already answered, or not yet handed out). A done action also
    // changes the stored reports as it changed the hosts, so that an apply planned before the
    // agents' next reports does not repeat it; those reports then replace the guess.
    Status answer(ActionId id, bool ok, const std::string& error);

    // Newest first.
    std::vector<ApplyRecord> applies() const;

    // The hosts of transfer while its move is under way (not_found once it has ended).
    std::optional<TransferHosts> transfer_hosts(const std::string& transfer) const;
    // The transfers whose moves have ended since the last call (sent and received, or
    // failed, or rolled back): their disks are no longer needed.
    std::vector<std::string> take_ended_transfers();

  private:
    struct Apply {
        ApplyId id = 0;
        Timestamp created_at = 0;
        std::vector<ActionId> steps;
    };

    void release_locked(Apply& apply);
    // Writes what the change under way touched (dirty_) in one transaction; on failure reads
    // the cache back from the store. Clears dirty_ either way.
    Status flush_locked();
    Status load_locked();
    Status read_actions_locked(std::map<ApplyId, Apply>& applies,
                               std::map<ActionId, VmAction>& actions) const;
    Result<ActionId> allocate_actions_locked(std::size_t count);
    // The actions (ids not yet given) that carry out step, each with its `after`.
    Result<std::vector<VmAction>> actions_for_locked(const reconcile::Action& step,
                                                     const site::Site& site, ApplyId apply) const;
    Status queue_abort_locked(const VmAction& failed_receive, Apply& apply);
    std::string apply_state_locked(const Apply& apply) const;
    void trim_locked();
    void record_effect_locked(const VmAction& action);
    const HostReport* report_by_name_locked(const std::string& name) const;
    // Fills report.missing from the host's previous report; the names newly missing.
    std::vector<std::string> flag_missing_locked(HostReport& report) const;
    bool action_under_way_locked(const std::string& vm) const;
    // Writes the waiting refreshes in one transaction; kept waiting when it fails.
    Status write_refreshes_locked();

    // What a change has touched since the last flush_locked().
    struct Dirty {
        std::set<ActionId> actions;
        std::set<ActionId> removed_actions;
        std::set<ApplyId> applies;
        std::set<ApplyId> removed_applies;
        std::set<HostId> reports;
    };

    Store& store_;
    const std::size_t keep_applies_;
    mutable std::mutex mu_;
    std::map<HostId, HostReport> reports_;
    std::map<HostId, std::pair<std::string, Timestamp>> stored_reports_;  // body, reported_at
    // The reported_at refreshes waiting to be written (unchanged reports), and when the first
    // of them came.
    std::map<HostId, Timestamp> refreshes_;
    Timestamp refreshes_since_ = 0;
    std::map<ActionId, VmAction> actions_;
    std::map<ApplyId, Apply> applies_;
    std::vector<std::string> ended_transfers_;
    Dirty dirty_;
    Timestamp actions_synced_at_ = 0;  // the last sync_actions() that read the store
};

// A VM's spec from its site entry (interfaces with their network's VLAN).
VmSpec spec_from_site(const site::Site& site, const site::Vm& vm);

}  // namespace provisioner::server
