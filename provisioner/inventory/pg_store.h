// Store on PostgreSQL (../include/provisioner/pg_store.h). Private to the inventory.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "pg_db.h"
#include "provisioner/pg_store.h"

namespace provisioner {

class PgStore final : public Store {
  public:
    // readers: at least one; each serves one read at a time.
    PgStore(std::unique_ptr<pg::Db> db, std::vector<std::unique_ptr<pg::Db>> readers,
            base::Clock& clock)
        : db_(std::move(db)), readers_(std::move(readers)), clock_(clock) {}

    Status transaction(const std::function<Status()>& fn) override;
    Timestamp now() const override { return timestamp_now(clock_); }
    // The change counter every writing transaction bumps (of any server sharing the
    // database), read on the reader connection; nullopt inside transaction() on this thread.
    std::optional<std::uint64_t> data_version() override;

    Result<std::vector<Host>> add_hosts(const std::vector<HostSpec>& specs, HostState initial,
                                        const std::string& reason) override;
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

    // another_server_connected(): sessions named provisionerd on this database but ours.
    Result<bool> other_sessions();

  protected:
    Result<Event> write_transition(const Host& host, HostState to,
                                   const std::string& reason) override;

  private:
    Result<Host> one_host(const char* sql, const pg::Params& params, const std::string& what);
    Result<Event> insert_event(const Event& event);
    Status write_labels(TemplateId id, const std::vector<std::string>& labels);
    Result<std::vector<std::string>> read_labels(TemplateId id);

    // The reader connections: each read takes a free one (waiting while none is) and gives
    // it back. One connection made every API worker's reads take turns, and a page of hosts is
    // several round trips: on a machine busy with another server's writes, each round trip
    // waits for the database's process to run, and one server's pages queued behind one
    // another's (issue 20's scale bench, "pg x2": 57 pages/s under the other's enrolments).
    class Readers {
      public:
        explicit Readers(std::vector<std::unique_ptr<pg::Db>> dbs);
        class Lease {
          public:
            Lease(Readers& readers, std::size_t index) : readers_(&readers), index_(index) {}
            Lease(Lease&& other) noexcept
                : readers_(std::exchange(other.readers_, nullptr)), index_(other.index_) {}
            Lease(const Lease&) = delete;
            Lease& operator=(const Lease&) = delete;
            Lease& operator=(Lease&&) = delete;
            ~Lease();
            pg::Db& operator*() const { return *readers_->dbs_[index_]; }
            pg::Db* operator->() const { return readers_->dbs_[index_].get(); }

          private:
            Readers* readers_;
            std::size_t index_;
        };
        Lease take();
        // The connections' server processes as of their last use (pg_stat_activity's pid).
        std::vector<int> backend_pids();

      private:
        std::vector<std::unique_ptr<pg::Db>> dbs_;
        std::mutex mu_;
        std::condition_variable freed_;
        std::vector<std::size_t> free_;  // indexes into dbs_
        std::vector<int> pids_;          // by index, refreshed as each is given back
    };

    // As SqliteStore::read: a reader connection outside a transaction of this thread, so a
    // listing never waits for a writer's commit; the writer's inside one, to see its writes.
    template <class Fn>
    auto read(Fn&& fn) {
        if (!in_transaction_on_this_thread()) {
            Readers::Lease reader = readers_.take();
            return fn(*reader);
        }
        std::lock_guard lock(mu_);
        return fn(*db_);
    }
    bool in_transaction_on_this_thread() const;

    std::recursive_mutex mu_;  // held by every call on db_, and across a transaction()
    std::unique_ptr<pg::Db> db_;
    Readers readers_;
    base::Clock& clock_;
};

}  // namespace provisioner
