// SqliteStore: the server's own state (server_state.h): id sequences, VM applies and actions,
// the agents' last reports, disk transfers. Bodies are opaque text.
#include <string>

#include "sqlite_store.h"

namespace provisioner {

using sqlite::Query;

namespace {

// Runs q to its end, handing each row to read.
template <typename Row, typename Read>
Result<std::vector<Row>> read_rows(Result<Query> q, Read read) {
    if (!q) return q.status();
    std::vector<Row> out;
    for (;;) {
        auto row = q->step();
        if (!row) return row.status();
        if (!*row) return out;
        out.push_back(read(*q));
    }
}

}  // namespace

Result<std::int64_t> SqliteStore::allocate_ids(const std::string& sequence, std::int64_t count) {
    if (sequence.empty() || count < 1)
        return Status::error(Code::invalid_argument,
                             "allocate_ids needs a sequence and count >= 1");
    std::lock_guard lock(mu_);
    std::int64_t first = 0;
    Status s = db_->transaction([&]() -> Status {
        auto q = db_->query(
            "INSERT INTO id_sequences (name, next) VALUES (?, 1 + ?) "
            "ON CONFLICT (name) DO UPDATE SET next = next + excluded.next - 1 RETURNING next");
        if (!q) return q.status();
        q->bind(sequence).bind(count);
        auto row = q->step();
        if (!row) return row.status();
        if (!*row) return Status::error(Code::storage, "id sequence " + sequence + ": no row");
        first = q->i64(0) - count;
        return q->run();
    });
    if (!s) return s;
    return first;
}

Status SqliteStore::put_vm_apply(const VmApplyRow& row) {
    std::lock_guard lock(mu_);
    auto q = db_->query(
        "INSERT INTO vm_applies (id, created_at, body) VALUES (?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, body = excluded.body");
    if (!q) return q.status();
    return q->bind(row.id).bind(row.created_at).bind(row.body).run();
}

Result<std::vector<VmApplyRow>> SqliteStore::list_vm_applies() {
    std::lock_guard lock(mu_);
    return read_rows<VmApplyRow>(
        db_->query("SELECT id, created_at, body FROM vm_applies ORDER BY id"), [](const Query& q) {
            return VmApplyRow{q.i64(0), q.i64(1), q.text(2)};
        });
}

Status SqliteStore::remove_vm_apply(std::int64_t id) {
    std::lock_guard lock(mu_);
    auto q = db_->query("DELETE FROM vm_applies WHERE id = ?");
    if (!q) return q.status();
    return q->bind(id).run();
}

Status SqliteStore::put_vm_action(const VmActionRow& row) {
    std::lock_guard lock(mu_);
    auto q = db_->query(
        "INSERT INTO vm_actions (id, apply_id, host_id, state, body) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET apply_id = excluded.apply_id, host_id = "
        "excluded.host_id, state = excluded.state, body = excluded.body");
    if (!q) return q.status();
    q->bind(row.id);
    if (row.apply == 0)
        q->bind_null();
    else
        q->bind(row.apply);
    Status s = q->bind(row.host).bind(row.state).bind(row.body).run();
    if (!s && s.code() == Code::conflict)
        return Status::error(Code::conflict,
                             "VM action " + std::to_string(row.id) + ": " + s.message());
    return s;
}

Result<std::vector<VmActionRow>> SqliteStore::list_vm_actions() {
    std::lock_guard lock(mu_);
    return read_rows<VmActionRow>(
        db_->query("SELECT id, coalesce(apply_id, 0), host_id, state, body FROM vm_actions "
                   "ORDER BY id"),
        [](const Query& q) {
            return VmActionRow{q.i64(0), q.i64(1), q.i64(2), q.text(3), q.text(4)};
        });
}

Status SqliteStore::remove_vm_action(std::int64_t id) {
    std::lock_guard lock(mu_);
    auto q = db_->query("DELETE FROM vm_actions WHERE id = ?");
    if (!q) return q.status();
    return q->bind(id).run();
}

Status SqliteStore::put_host_report(const HostReportRow& row) {
    std::lock_guard lock(mu_);
    auto q = db_->query(
        "INSERT INTO host_reports (host_id, reported_at, body) VALUES (?, ?, ?) "
        "ON CONFLICT (host_id) DO UPDATE SET reported_at = excluded.reported_at, "
        "body = excluded.body");
    if (!q) return q.status();
    Status s = q->bind(row.host).bind(row.reported_at).bind(row.body).run();
    if (!s && s.code() == Code::conflict)
        return Status::error(Code::conflict,
                             "a report of host " + std::to_string(row.host) + ", which is gone");
    return s;
}

Result<std::vector<HostReportRow>> SqliteStore::list_host_reports() {
    std::lock_guard lock(mu_);
    return read_rows<HostReportRow>(
        db_->query("SELECT host_id, reported_at, body FROM host_reports ORDER BY host_id"),
        [](const Query& q) {
            return HostReportRow{q.i64(0), q.i64(1), q.text(2)};
        });
}

Status SqliteStore::put_guest_report(const GuestReportRow& row) {
    if (row.vm.empty()) return Status::error(Code::invalid_argument, "a guest report needs a VM");
    std::lock_guard lock(mu_);
    auto q = db_->query(
        "INSERT INTO guest_reports (vm, reported_at, body) VALUES (?, ?, ?) "
        "ON CONFLICT (vm) DO UPDATE SET reported_at = excluded.reported_at, body = excluded.body");
    if (!q) return q.status();
    return q->bind(row.vm).bind(row.reported_at).bind(row.body).run();
}

Result<std::vector<GuestReportRow>> SqliteStore::list_guest_reports() {
    std::lock_guard lock(mu_);
    return read_rows<GuestReportRow>(
        db_->query("SELECT vm, reported_at, body FROM guest_reports ORDER BY vm"),
        [](const Query& q) {
            return GuestReportRow{q.text(0), q.i64(1), q.text(2)};
        });
}

Status SqliteStore::put_disk_transfer(const DiskTransferRow& row) {
    if (row.id.empty()) return Status::error(Code::invalid_argument, "a disk transfer needs an id");
    std::lock_guard lock(mu_);
    auto q = db_->query(
        "INSERT INTO disk_transfers (id, size, sha256, complete, started_at) VALUES (?, ?, ?, ?, "
        "?) "
        "ON CONFLICT (id) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256, "
        "complete = excluded.complete, started_at = excluded.started_at");
    if (!q) return q.status();
    return q->bind(row.id)
        .bind(std::int64_t(row.size))
        .bind(row.sha256)
        .bind(std::int64_t(row.complete ? 1 : 0))
        .bind(row.started_at)
        .run();
}

Result<std::vector<DiskTransferRow>> SqliteStore::list_disk_transfers() {
    std::lock_guard lock(mu_);
    return read_rows<DiskTransferRow>(
        db_->query("SELECT id, size, sha256, complete, started_at FROM disk_transfers ORDER BY id"),
        [](const Query& q) {
            return DiskTransferRow{q.text(0), std::uint64_t(q.i64(1)), q.text(2), q.i64(3) != 0,
                                   q.i64(4)};
        });
}

Status SqliteStore::remove_disk_transfer(const std::string& id) {
    std::lock_guard lock(mu_);
    auto q = db_->query("DELETE FROM disk_transfers WHERE id = ?");
    if (!q) return q.status();
    return q->bind(id).run();
}

}  // namespace provisioner
