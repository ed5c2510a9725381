// PgStore: the server's own state (server_state.h): id sequences, VM applies and actions, the
// agents' last reports, disk transfers. Bodies are opaque text.
#include <string>

#include "pg_store.h"

namespace provisioner {

using pg::Params;
using pg::Rows;

namespace {

template <typename Row, typename Read>
Result<std::vector<Row>> read_rows(Result<Rows> rows, Read read) {
    if (!rows) return rows.status();
    std::vector<Row> out;
    out.reserve(std::size_t(rows->size()));
    for (int i = 0; i < rows->size(); ++i) out.push_back(read(*rows, i));
    return out;
}

Status written(const Result<Rows>& rows) {
    return rows ? Status::ok() : rows.status();
}

}  // namespace

Result<std::int64_t> PgStore::allocate_ids(const std::string& sequence, std::int64_t count) {
    if (sequence.empty() || count < 1)
        return Status::error(Code::invalid_argument,
                             "allocate_ids needs a sequence and count >= 1");
    std::lock_guard lock(mu_);
    // One statement: the row lock of the upsert makes concurrent servers take turns.
    auto rows = db_->write(
        "INSERT INTO id_sequences (name, next) VALUES ($1, 1 + $2::bigint)"
        " ON CONFLICT (name) DO UPDATE SET next = id_sequences.next + excluded.next - 1"
        " RETURNING next",
        Params().add(sequence).add(count));
    if (!rows) return rows.status();
    if (rows->empty()) return Status::error(Code::storage, "id sequence " + sequence + ": no row");
    return rows->i64(0, 0) - count;
}

Status PgStore::put_vm_apply(const VmApplyRow& row) {
    std::lock_guard lock(mu_);
    return written(db_->write(
        "INSERT INTO vm_applies (id, created_at, body) VALUES ($1, $2, $3)"
        " ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, body = excluded.body",
        Params().add(row.id).add(row.created_at).add(row.body)));
}

Result<std::vector<VmApplyRow>> PgStore::list_vm_applies() {
    std::lock_guard lock(mu_);
    return read_rows<VmApplyRow>(
        db_->query("SELECT id, created_at, body FROM vm_applies ORDER BY id"),
        [](const Rows& r, int i) {
            return VmApplyRow{r.i64(i, 0), r.i64(i, 1), r.text(i, 2)};
        });
}

Status PgStore::remove_vm_apply(std::int64_t id) {
    std::lock_guard lock(mu_);
    return written(db_->write("DELETE FROM vm_applies WHERE id = $1", Params().add(id)));
}

Status PgStore::put_vm_action(const VmActionRow& row) {
    std::lock_guard lock(mu_);
    Params p;
    p.add(row.id);
    if (row.apply == 0)
        p.add_null();
    else
        p.add(row.apply);
    p.add(row.host).add(row.state).add(row.body);
    Status s = written(db_->write(
        "INSERT INTO vm_actions (id, apply_id, host_id, state, body) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (id) DO UPDATE SET apply_id = excluded.apply_id,"
        " host_id = excluded.host_id, state = excluded.state, body = excluded.body",
        p));
    if (!s && s.code() == Code::conflict)
        return Status::error(Code::conflict,
                             "VM action " + std::to_string(row.id) + ": " + s.message());
    return s;
}

Result<std::vector<VmActionRow>> PgStore::list_vm_actions() {
    std::lock_guard lock(mu_);
    return read_rows<VmActionRow>(
        db_->query("SELECT id, coalesce(apply_id, 0), host_id, state, body FROM vm_actions"
                   " ORDER BY id"),
        [](const Rows& r, int i) {
            return VmActionRow{r.i64(i, 0), r.i64(i, 1), r.i64(i, 2), r.text(i, 3), r.text(i, 4)};
        });
}

Status PgStore::remove_vm_action(std::int64_t id) {
    std::lock_guard lock(mu_);
    return written(db_->write("DELETE FROM vm_actions WHERE id = $1", Params().add(id)));
}

Status PgStore::put_host_report(const HostReportRow& row) {
    std::lock_guard lock(mu_);
    Status s = written(
        db_->write("INSERT INTO host_reports (host_id, reported_at, body) VALUES ($1, $2, $3)"
                   " ON CONFLICT (host_id) DO UPDATE SET reported_at = excluded.reported_at,"
                   " body = excluded.body",
                   Params().add(row.host).add(row.reported_at).add(row.body)));
    if (!s && s.code() == Code::conflict)
        return Status::error(Code::conflict,
                             "a report of host " + std::to_string(row.host) + ", which is gone");
    return s;
}

Result<std::vector<HostReportRow>> PgStore::list_host_reports() {
    std::lock_guard lock(mu_);
    return read_rows<HostReportRow>(
        db_->query("SELECT host_id, reported_at, body FROM host_reports ORDER BY host_id"),
        [](const Rows& r, int i) {
            return HostReportRow{r.i64(i, 0), r.i64(i, 1), r.text(i, 2)};
        });
}

Status PgStore::put_guest_report(const GuestReportRow& row) {
    if (row.vm.empty()) return Status::error(Code::invalid_argument, "a guest report needs a VM");
    std::lock_guard lock(mu_);
    return written(db_->write(
        "INSERT INTO guest_reports (vm, reported_at, body) VALUES ($1, $2, $3)"
        " ON CONFLICT (vm) DO UPDATE SET reported_at = excluded.reported_at, body = excluded.body",
        Params().add(row.vm).add(row.reported_at).add(row.body)));
}

Result<std::vector<GuestReportRow>> PgStore::list_guest_reports() {
    std::lock_guard lock(mu_);
    return read_rows<GuestReportRow>(
        db_->query("SELECT vm, reported_at, body FROM guest_reports ORDER BY vm"),
        [](const Rows& r, int i) {
            return GuestReportRow{r.text(i, 0), r.i64(i, 1), r.text(i, 2)};
        });
}

Status PgStore::put_disk_transfer(const DiskTransferRow& row) {
    if (row.id.empty()) return Status::error(Code::invalid_argument, "a disk transfer needs an id");
    std::lock_guard lock(mu_);
    return written(
        db_->write("INSERT INTO disk_transfers (id, size, sha256, complete, started_at)"
                   " VALUES ($1, $2, $3, $4, $5)"
                   " ON CONFLICT (id) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256,"
                   " complete = excluded.complete, started_at = excluded.started_at",
                   Params()
                       .add(row.id)
                       .add(std::int64_t(row.size))
                       .add(row.sha256)
                       .add(row.complete ? "true" : "false")
                       .add(row.started_at)));
}

Result<std::vector<DiskTransferRow>> PgStore::list_disk_transfers() {
    std::lock_guard lock(mu_);
    return read_rows<DiskTransferRow>(
        db_->query("SELECT id, size, sha256, complete::int, started_at FROM disk_transfers"
                   " ORDER BY id"),
        [](const Rows& r, int i) {
            return DiskTransferRow{r.text(i, 0), std::uint64_t(r.i64(i, 1)), r.text(i, 2),
                                   r.i64(i, 3) != 0, r.i64(i, 4)};
        });
}

Status PgStore::remove_disk_transfer(const std::string& id) {
    std::lock_guard lock(mu_);
    return written(db_->write("DELETE FROM disk_transfers WHERE id = $1", Params().add(id)));
}

}  // namespace provisioner
