// The inventory's storage interface, and its SQLite implementation.
//
// Everything provisionerd keeps (hosts, images, deployments, the event log) goes through
// Store, so that a shared PostgreSQL can later serve several provisioning servers. A host's
// state changes only through transition(), which checks the lifecycle table and writes the new
// state and its event in one transaction; update_host() never touches the state.
//
// Thread safety: a Store may be used from several threads; calls are serialised, and a
// transaction() holds the store for its duration (keep the function short, no network I/O).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "provisioner/records.h"
#include "provisioner/server_state.h"
#include "provisioner/status.h"

namespace provisioner {

class Store {
  public:
    virtual ~Store() = default;

    // Runs fn in one transaction: commits if it returns ok, rolls back otherwise (and if it
    // throws). Calls from inside fn join the outer transaction.
    virtual Status transaction(const std::function<Status()>& fn) = 0;

    // The store's clock: the time it stamps on records and events.
    virtual Timestamp now() const = 0;

    // A number that is not the same as before once any change has been committed since (by
    // this process or another sharing the store), for a cache of answers built from reads;
    // nullopt when the store cannot tell (and then nothing may be cached). Thread-safe.
    virtual std::optional<std::uint64_t> data_version() { return std::nullopt; }

    // --- hosts ---
    // Creates a host in `initial` (discovered or enrolled) and logs the event with reason.
    // conflict if the MAC or the name is taken; invalid_argument for bad fields.
    virtual Result<Host> add_host(const HostSpec& spec, HostState initial,
                                  const std::string& reason) = 0;
    // Adds every host of specs as add_host() does (an event each), in one transaction: all or
    // none, the first error returned. The hosts in specs' order. This loops add_host(); a
    // store that pays a round trip per statement (PostgreSQL) writes them in batches.
    virtual Result<std::vector<Host>> add_hosts(const std::vector<HostSpec>& specs,
                                                HostState initial, const std::string& reason);
    virtual Result<Host> get_host(HostId id) = 0;        // not_found if absent
    virtual Result<Host> find_host(const Mac& mac) = 0;  // not_found if absent
    virtual Result<Host> find_host_by_name(const std::string& name) = 0;
    virtual Result<std::vector<Host>> list_hosts(const HostFilter& filter) = 0;  // by name
    virtual Result<std::int64_t> count_hosts(const HostFilter& filter) = 0;      // ignores limit
    // Writes name, ip, rack, facts_json and image of host.id; the state is left alone.
    virtual Status update_host(const Host& host) = 0;
    // Deletes the host and its deployment targets; its events stay (with the MAC, no id).
    virtual Status remove_host(HostId id) = 0;

    // Moves a host to `to` if the lifecycle allows it from its current state, logging
    // from -> to with reason, atomically. illegal_transition names both states.
    Result<Event> transition(HostId id, HostState to, const std::string& reason);

    // --- images ---
    // conflict if name+version exists. id and imported_at are assigned.
    virtual Result<Image> add_image(const Image& image) = 0;
    virtual Result<Image> get_image(ImageId id) = 0;
    virtual Result<Image> find_image(const std::string& name, const std::string& version) = 0;
    virtual Result<std::vector<Image>> list_images() = 0;
    virtual Status remove_image(ImageId id) = 0;  // conflict while a deployment or host uses it

    // --- deployments ---
    // A running deployment of image to hosts, each target pending with the given transport.
    virtual Result<Deployment> create_deployment(ImageId image, Transport transport,
                                                 const std::vector<HostId>& hosts) = 0;
    virtual Result<Deployment> get_deployment(DeploymentId id) = 0;
    virtual Result<std::vector<Deployment>> list_deployments() = 0;  // newest first
    virtual Status set_deployment_state(DeploymentId id, DeploymentState state) = 0;
    virtual Result<std::vector<DeploymentTarget>> list_targets(DeploymentId id) = 0;
    // Writes state, transport, bytes, times and error of (target.deployment, target.host).
    virtual Status update_target(const DeploymentTarget& target) = 0;

    // --- templates ---
    // conflict if name@version exists; not_found if t.backing names no template. id and
    // created_at are assigned; last_used_at starts absent.
    virtual Result<Template> add_template(const Template& t) = 0;
    virtual Result<Template> find_template(const std::string& name,
                                           const std::string& version) = 0;  // not_found
    virtual Result<std::vector<Template>> list_templates() = 0;              // by name, then id
    virtual Status set_template_labels(TemplateId id, const std::vector<std::string>& labels) = 0;
    virtual Status mark_template_used(TemplateId id, Timestamp when) = 0;
    // conflict while another template is backed by it.
    virtual Status remove_template(TemplateId id) = 0;

    // --- events ---
    // A server-wide or informational event (no state change); id and time are assigned.
    virtual Result<Event> log_event(const Event& event) = 0;
    virtual Result<std::vector<Event>> list_events(const EventFilter& filter) = 0;

    // --- operator tokens and server settings ---
    // conflict if the name or the hash exists.
    virtual Result<ApiToken> add_api_token(const std::string& name,
                                           const std::string& token_sha256) = 0;
    virtual Result<ApiToken> find_api_token(const std::string& token_sha256) = 0;  // not_found
    virtual Result<std::vector<ApiToken>> list_api_tokens() = 0;  // in the order made
    // Deletes the token named name and returns it: it is refused from the next request on.
    // not_found if no token has that name; conflict if it is the only one left, so that the
    // operators cannot lock themselves out. The check and the delete are one transaction.
    virtual Result<ApiToken> remove_api_token(const std::string& name) = 0;
    // A server-wide value (the host-token secret, ...); not_found if unset.
    virtual Result<std::string> get_setting(const std::string& key) = 0;
    // Sets key to value unless it is set already; returns the value that is set afterwards,
    // so servers sharing a store agree on the first one written.
    virtual Result<std::string> set_setting_once(const std::string& key,
                                                 const std::string& value) = 0;
    // Sets key to value, replacing what was there (a host's Dom0 token generation).
    virtual Status set_setting(const std::string& key, const std::string& value) = 0;
    // Removes key; ok when it was not set.
    virtual Status delete_setting(const std::string& key) = 0;
    // The keys that begin with prefix, byte by byte (no pattern characters), in byte order;
    // "" lists them all. For the settings each server publishes under "NAME:SERVER-ID".
    virtual Result<std::vector<std::string>> list_setting_keys(const std::string& prefix) = 0;
    // Deletes the settings prefix + ID whose ID is no host's (removed, or not a host id at
    // all: prefix + "7x"), in one statement, so that a host made meanwhile keeps its own; the
    // keys deleted, in byte order. For per-host settings ("dom0_generation:ID") that a removal
    // did not take along (an older server's).
    virtual Result<std::vector<std::string>> delete_settings_of_absent_hosts(
        const std::string& prefix) = 0;

    // --- the server's own state (server_state.h) ---
    // Reserves count fresh ids of sequence ("vm_apply", "vm_action") and returns the first;
    // an id is never handed out twice, even after the rows that used it are removed, so that
    // an agent can tell a new action from one it has carried out already.
    virtual Result<std::int64_t> allocate_ids(const std::string& sequence, std::int64_t count) = 0;
    // Each put writes the whole row, inserting or replacing it by its key.
    virtual Status put_vm_apply(const VmApplyRow& row) = 0;
    virtual Result<std::vector<VmApplyRow>> list_vm_applies() = 0;  // by id
    virtual Status remove_vm_apply(std::int64_t id) = 0;            // and its actions; absent: ok
    virtual Status put_vm_action(const VmActionRow& row) = 0;
    virtual Result<std::vector<VmActionRow>> list_vm_actions() = 0;  // by id
    virtual Status remove_vm_action(std::int64_t id) = 0;            // absent: ok
    // A report of a host that is gone fails (conflict); removing a host removes its report.
    virtual Status put_host_report(const HostReportRow& row) = 0;
    virtual Result<std::vector<HostReportRow>> list_host_reports() = 0;  // by host
    virtual Status put_guest_report(const GuestReportRow& row) = 0;
    virtual Result<std::vector<GuestReportRow>> list_guest_reports() = 0;  // by vm
    virtual Status put_disk_transfer(const DiskTransferRow& row) = 0;
    virtual Result<std::vector<DiskTransferRow>> list_disk_transfers() = 0;  // by id
    virtual Status remove_disk_transfer(const std::string& id) = 0;          // absent: ok
    // A host's BMC; as host reports: a host that is gone fails (conflict), removing a host
    // removes its BMC.
    virtual Status put_host_bmc(const HostBmcRow& row) = 0;
    virtual Result<std::vector<HostBmcRow>> list_host_bmcs() = 0;  // by host
    virtual Status remove_host_bmc(HostId host) = 0;               // absent: ok

    // --- leases (server_state.h LeaseRow) ---
    // Gives owner the lease `name` until expires_at when nobody holds it, when owner holds it
    // already (a renewal), or when its holder's expiry is at or before now (that holder is
    // taken to be dead); one atomic step, so two servers never both get it. Returns the lease
    // as it is afterwards: owner's when taken, else its live holder's.
    virtual Result<LeaseRow> acquire_lease(const std::string& name, const std::string& owner,
                                           Timestamp now, Timestamp expires_at) = 0;
    // Moves every lease owner holds to expires_at; returns the names it still holds, by name
    // (one taken over after it expired is not among them).
    virtual Result<std::vector<std::string>> renew_leases(const std::string& owner,
                                                          Timestamp expires_at) = 0;
    // Gives the lease up if owner holds it; absent, or another's: ok, nothing changes.
    virtual Status release_lease(const std::string& name, const std::string& owner) = 0;
    virtual Result<std::vector<LeaseRow>> list_leases() = 0;  // by name

    // --- health ---
    // The backend's own consistency check (SQLite: PRAGMA integrity_check + foreign_key_check).
    virtual Status integrity_check() = 0;

  protected:
    // Writes the state and the event for transition(); called inside a transaction, after the
    // table was checked. Implementations write, they do not decide.
    virtual Result<Event> write_transition(const Host& host, HostState to,
                                           const std::string& reason) = 0;
};

// clock's wall time as a Timestamp (milliseconds since the epoch).
Timestamp timestamp_now(base::Clock& clock = base::real_clock());

struct SqliteOptions {
    int busy_timeout_ms = 5000;  // how long a writer waits for another connection's lock
    // Where the store's timestamps come from (events, leases, enrolments): base::real_clock()
    // when null; tests pass a FakeClock. Must outlive the store.
    base::Clock* clock = nullptr;
    bool check_integrity = true;  // run integrity_check() on open; refuse a damaged file
    // Applies the schema migrations up to this version only (0: all). For tests of a migration
    // from an older schema: the database is made as that release made it.
    int schema_version_limit = 0;
};

// Opens (creating if absent) the inventory at path, in WAL mode with foreign keys on, and
// brings its schema up to date. ":memory:" gives a private in-memory database: the same code
// and constraints as the file, which is what unit tests of callers should use.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& path,
                                                 const SqliteOptions& options = {});

// The schema version this build writes (the highest migration).
int current_schema_version();

}  // namespace provisioner
