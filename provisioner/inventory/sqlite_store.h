// Store on SQLite: WAL, foreign keys, busy timeout, versioned schema, prepared statements.
// Private to the inventory; callers get it through open_sqlite_store().
#pragma once

#include <memory>
#include <mutex>

#include "provisioner/store.h"
#include "sqlite_db.h"

namespace provisioner {

class SqliteStore final : public Store {
  public:
    // reader: a read-only connection to the same file, or nullptr (":memory:" has no other).
    SqliteStore(std::unique_ptr<sqlite::Db> db, base::Clock& clock,
                std::unique_ptr<sqlite::Db> reader = nullptr)
        : db_(std::move(db)), reader_(std::move(reader)), clock_(clock) {}

    Status transaction(const std::function<Status()>& fn) override;
    Timestamp now() const override { return timestamp_now(clock_); }
    // PRAGMA data_version of the read connection, which never writes: it changes with every
    // commit of any other connection, the writer's included. nullopt without one (":memory:")
    // or inside transaction() on this thread.
    std::optional<std::uint64_t> data_version() override;

    Result<Host> add_host(const HostSpec& spec, HostState initial,
                          const std::string& reason) override;
    Result<Host> get_host(HostId id) override;
    Result<Host> find_host(const Mac& mac) override;
    Result<Host> find_host_by_name(const std::string& name) override;
    Result<std::vector<Host>> list_hosts(const HostFilter& filter) override;
    Result<std::int64_t> count_hosts(const HostFilter& filter) override;
    Status update_host(const Host& host) override;
    Status remove_host(HostId id) override;

    Result<Image> add_image(const Image& image) override;
    Result<Image> get_image(ImageId id) override;
    Result<Image> find_image(const std::string& name, const std::string& version) override;
    Result<std::vector<Image>> list_images() override;
    Status remove_image(ImageId id) override;

    Result<Deployment> create_deployment(ImageId image, Transport transport,
                                         const std::vector<HostId>& hosts) override;
    Result<Deployment> get_deployment(DeploymentId id) override;
    Result<std::vector<Deployment>> list_deployments() override;
    Status set_deployment_state(DeploymentId id, DeploymentState state) override;
    Result<std::vector<DeploymentTarget>> list_targets(DeploymentId id) override;
    Status update_target(const DeploymentTarget& target) override;

    Result<Template> add_template(const Template& t) override;
    Result<Template> find_template(const std::string& name, const std::string& version) override;
    Result<std::vector<Template>> list_templates() override;
    Status set_template_labels(TemplateId id, const std::vector<std::string>& labels) override;
    Status mark_template_used(TemplateId id, Timestamp when) override;
    Status remove_template(TemplateId id) override;

    Result<Event> log_event(const Event& event) override;
    Result<std::vector<Event>> list_events(const EventFilter& filter) override;

    Result<ApiToken> add_api_token(const std::string& name,
                                   const std::string& token_sha256) override;
    Result<ApiToken> find_api_token(const std::string& token_sha256) override;
    Result<std::vector<ApiToken>> list_api_tokens() override;
    Result<ApiToken> remove_api_token(const std::string& name) override;
    Result<std::string> get_setting(const std::string& key) override;
    Result<std::string> set_setting_once(const std::string& key, const std::string& value) override;
    Status set_setting(const std::string& key, const std::string& value) override;
    Status delete_setting(const std::string& key) override;
    Result<std::vector<std::string>> list_setting_keys(const std::string& prefix) override;
    Result<std::vector<std::string>> delete_settings_of_absent_hosts(
        const std::string& prefix) override;

    Result<std::int64_t> allocate_ids(const std::string& sequence, std::int64_t count) override;
    Status put_vm_apply(const VmApplyRow& row) override;
    Result<std::vector<VmApplyRow>> list_vm_applies() override;
    Status remove_vm_apply(std::int64_t id) override;
    Status put_vm_action(const VmActionRow& row) override;
    Result<std::vector<VmActionRow>> list_vm_actions() override;
    Status remove_vm_action(std::int64_t id) override;
    Status put_host_report(const HostReportRow& row) override;
    Result<std::vector<HostReportRow>> list_host_reports() override;
    Status put_guest_report(const GuestReportRow& row) override;
    Result<std::vector<GuestReportRow>> list_guest_reports() override;
    Status put_disk_transfer(const DiskTransferRow& row) override;
    Result<std::vector<DiskTransferRow>> list_disk_transfers() override;
    Status remove_disk_transfer(const std::string& id) override;
    Status put_host_bmc(const HostBmcRow& row) override;
    Result<std::vector<HostBmcRow>> list_host_bmcs() override;
    Status remove_host_bmc(HostId host) override;

    Result<LeaseRow> acquire_lease(const std::string& name, const std::string& owner, Timestamp now,
                                   Timestamp expires_at) override;
    Result<std::vector<std::string>> renew_leases(const std::string& owner,
                                                  Timestamp expires_at) override;
    Status release_lease(const std::string& name, const std::string& owner) override;
    Result<std::vector<LeaseRow>> list_leases() override;

    Status integrity_check() override;

  protected:
    Result<Event> write_transition(const Host& host, HostState to,
                                   const std::string& reason) override;

  private:
    Result<Host> one_host(const char* sql, const std::function<void(sqlite::Query&)>& bind,
                          const std::string& what);
    Result<Event> insert_event(const Event& event);
    Status write_labels(TemplateId id, const std::vector<std::string>& labels);
    Result<std::vector<std::string>> read_labels(TemplateId id);

    // Runs fn(db) for a read that every API request makes (host listings, operator tokens):
    // on reader_ under reader_mu_, so that it never waits for mu_, which a writer holds across
    // its commit (an fsync: tens of ms while the disk is busy, as during a deployment); WAL
    // lets it see every transaction committed before it starts. Inside transaction() on this
    // thread, or without reader_, on db_ under mu_, which sees that transaction's own writes.
    template <class Fn>
    auto read(Fn&& fn) {
        if (reader_ && !in_transaction_on_this_thread()) {
            std::lock_guard lock(reader_mu_);
            return fn(*reader_);
        }
        std::lock_guard lock(mu_);
        return fn(*db_);
    }
    bool in_transaction_on_this_thread() const;

    std::recursive_mutex mu_;  // held by every call, and across a transaction()
    std::unique_ptr<sqlite::Db> db_;
    std::mutex reader_mu_;  // held across each use of reader_
    std::unique_ptr<sqlite::Db> reader_;
    base::Clock& clock_;
};

}  // namespace provisioner
