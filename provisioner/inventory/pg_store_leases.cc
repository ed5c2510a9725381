// PgStore: leases (server_state.h LeaseRow). Rows rather than advisory locks: an advisory lock
// lives as long as its session, so a server that hangs with its connection open (stopped,
// swapping) would hold its work forever, and one whose session drops (PgStore reconnects)
// would lose it without noticing; a row expires by time, reads the same on SQLite, and its
// expiry can be driven by a fake clock in the conformance suite.
#include <algorithm>
#include <string>

#include "pg_store.h"

namespace provisioner {

using pg::Params;
using pg::Rows;

Result<LeaseRow> PgStore::acquire_lease(const std::string& name, const std::string& owner,
                                        Timestamp now, Timestamp expires_at) {
    if (name.empty() || owner.empty())
        return Status::error(Code::invalid_argument, "a lease needs a name and an owner");
    std::lock_guard lock(mu_);
    // One statement: the upsert's row lock makes two servers that both saw the lease expired
    // take turns, and the second finds the first's live lease and changes nothing.
    auto taken = db_->write(
        "WITH prev AS (SELECT owner FROM leases WHERE name = $1)"
        " INSERT INTO leases (name, owner, acquired_at, expires_at)"
        " VALUES ($1, $2, $3::bigint, $4::bigint)"
        " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner,"
        " expires_at = excluded.expires_at,"
        " acquired_at = CASE WHEN leases.owner = excluded.owner THEN leases.acquired_at"
        " ELSE excluded.acquired_at END"
        " WHERE leases.owner = excluded.owner OR leases.expires_at <= $3::bigint"
        " RETURNING owner, acquired_at, expires_at, coalesce((SELECT owner FROM prev), '')",
        Params().add(name).add(owner).add(now).add(expires_at));
    if (!taken) return taken.status().context("lease " + name);
    if (!taken->empty()) {
        LeaseRow out{name, taken->text(0, 0), taken->i64(0, 1), taken->i64(0, 2), ""};
        if (std::string prev = taken->text(0, 3); !prev.empty() && prev != owner)
            out.taken_from = prev;
        return out;
    }
    auto held = db_->query(
        "SELECT owner, acquired_at, expires_at FROM leases WHERE name = $1", Params().add(name));
    if (!held) return held.status().context("lease " + name);
    if (held->empty())  // released between the two statements: the caller may try again
        return Status::error(Code::conflict, "lease " + name + " changed hands; try again");
    return LeaseRow{name, held->text(0, 0), held->i64(0, 1), held->i64(0, 2), ""};
}

Result<std::vector<std::string>> PgStore::renew_leases(const std::string& owner,
                                                       Timestamp expires_at) {
    std::lock_guard lock(mu_);
    auto rows = db_->write(
        "UPDATE leases SET expires_at = $1::bigint WHERE owner = $2 RETURNING name",
        Params().add(expires_at).add(owner));
    if (!rows) return rows.status();
    std::vector<std::string> held;
    for (int i = 0; i < rows->size(); ++i) held.push_back(rows->text(i, 0));
    std::sort(held.begin(), held.end());
    return held;
}

Status PgStore::release_lease(const std::string& name, const std::string& owner) {
    std::lock_guard lock(mu_);
    auto rows = db_->write("DELETE FROM leases WHERE name = $1 AND owner = $2",
                           Params().add(name).add(owner));
    return rows ? Status::ok() : rows.status();
}

Result<std::vector<LeaseRow>> PgStore::list_leases() {
    std::lock_guard lock(mu_);
    auto rows = db_->query(
        "SELECT name, owner, acquired_at, expires_at FROM leases ORDER BY name");
    if (!rows) return rows.status();
    std::vector<LeaseRow> out;
    for (int i = 0; i < rows->size(); ++i)
        out.push_back(LeaseRow{rows->text(i, 0), rows->text(i, 1), rows->i64(i, 2),
                               rows->i64(i, 3), ""});
    return out;
}

}  // namespace provisioner
