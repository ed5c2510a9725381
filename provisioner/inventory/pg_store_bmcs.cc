// PgStore: hosts' BMCs (server_state.h HostBmcRow). The body is opaque text; the password in
// it is sealed by the server before it gets here.
#include <string>

#include "pg_store.h"

namespace provisioner {

using pg::Params;
using pg::Rows;

Status PgStore::put_host_bmc(const HostBmcRow& row) {
    std::lock_guard lock(mu_);
    auto rows = db_->write(
        "INSERT INTO host_bmcs (host_id, updated_at, body) VALUES ($1, $2, $3)"
        " ON CONFLICT (host_id) DO UPDATE SET updated_at = excluded.updated_at,"
        " body = excluded.body",
        Params().add(row.host).add(row.updated_at).add(row.body));
    if (!rows && rows.status().code() == Code::conflict)
        return Status::error(Code::conflict,
                             "a BMC of host " + std::to_string(row.host) + ", which is gone");
    return rows ? Status::ok() : rows.status();
}

// On the reader connection (read()): every page of GET /api/v1/hosts lists the BMCs, and on
// the writer's it waited behind each enrolment's transaction.
Result<std::vector<HostBmcRow>> PgStore::list_host_bmcs() {
    return read([&](pg::Db& db) -> Result<std::vector<HostBmcRow>> {
        auto rows = db.query("SELECT host_id, updated_at, body FROM host_bmcs ORDER BY host_id");
        if (!rows) return rows.status();
        std::vector<HostBmcRow> out;
        for (int i = 0; i < rows->size(); ++i)
            out.push_back(HostBmcRow{rows->i64(i, 0), rows->i64(i, 1), rows->text(i, 2)});
        return out;
    });
}

Status PgStore::remove_host_bmc(HostId host) {
    std::lock_guard lock(mu_);
    auto rows = db_->write("DELETE FROM host_bmcs WHERE host_id = $1", Params().add(host));
    return rows ? Status::ok() : rows.status();
}

}  // namespace provisioner
