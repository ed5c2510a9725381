// SqliteStore: hosts' BMCs (server_state.h HostBmcRow). The body is opaque text; the password
// in it is sealed by the server before it gets here.
#include <string>

#include "sqlite_store.h"

namespace provisioner {

using sqlite::Query;

Status SqliteStore::put_host_bmc(const HostBmcRow& row) {
    std::lock_guard lock(mu_);
    auto q = db_->query(
        "INSERT INTO host_bmcs (host_id, updated_at, body) VALUES (?, ?, ?) "
        "ON CONFLICT (host_id) DO UPDATE SET updated_at = excluded.updated_at, "
        "body = excluded.body");
    if (!q) return q.status();
    Status s = q->bind(row.host).bind(row.updated_at).bind(row.body).run();
    if (!s && s.code() == Code::conflict)
        return Status::error(Code::conflict,
                             "a BMC of host " + std::to_string(row.host) + ", which is gone");
    return s;
}

// On the reader connection (read()), as the host list whose pages it completes.
Result<std::vector<HostBmcRow>> SqliteStore::list_host_bmcs() {
    return read([&](sqlite::Db& db) -> Result<std::vector<HostBmcRow>> {
        auto q = db.query("SELECT host_id, updated_at, body FROM host_bmcs ORDER BY host_id");
        if (!q) return q.status();
        std::vector<HostBmcRow> out;
        for (;;) {
            auto row = q->step();
            if (!row) return row.status();
            if (!*row) return out;
            out.push_back(HostBmcRow{q->i64(0), q->i64(1), q->text(2)});
        }
    });
}

Status SqliteStore::remove_host_bmc(HostId host) {
    std::lock_guard lock(mu_);
    auto q = db_->query("DELETE FROM host_bmcs WHERE host_id = ?");
    if (!q) return q.status();
    return q->bind(host).run();
}

}  // namespace provisioner
