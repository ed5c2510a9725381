// SqliteStore: leases (server_state.h LeaseRow). One server uses a SQLite file, so these
// mostly matter to the conformance suite; each call is one transaction all the same.
#include <string>

#include "sqlite_store.h"

namespace provisioner {

using sqlite::Query;

Result<LeaseRow> SqliteStore::acquire_lease(const std::string& name, const std::string& owner,
                                            Timestamp now, Timestamp expires_at) {
    if (name.empty() || owner.empty())
        return Status::error(Code::invalid_argument, "a lease needs a name and an owner");
    LeaseRow out;
    Status s = transaction([&]() -> Status {
        auto q = db_->query("SELECT owner, acquired_at, expires_at FROM leases WHERE name = ?");
        if (!q) return q.status();
        q->bind(name);
        auto row = q->step();
        if (!row) return row.status();
        if (*row) {
            out = LeaseRow{name, q->text(0), q->i64(1), q->i64(2), ""};
            if (out.owner != owner && out.expires_at > now) return Status::ok();  // alive
        }
        const bool renewal = *row && out.owner == owner;
        if (*row && !renewal) out.taken_from = out.owner;
        if (!renewal) out.acquired_at = now;
        out.name = name;
        out.owner = owner;
        out.expires_at = expires_at;
        auto w = db_->query(
            "INSERT INTO leases (name, owner, acquired_at, expires_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
            "acquired_at = excluded.acquired_at, expires_at = excluded.expires_at");
        if (!w) return w.status();
        return w->bind(name).bind(owner).bind(out.acquired_at).bind(expires_at).run();
    });
    if (!s) return s.context("lease " + name);
    return out;
}

Result<std::vector<std::string>> SqliteStore::renew_leases(const std::string& owner,
                                                           Timestamp expires_at) {
    std::vector<std::string> held;
    Status s = transaction([&]() -> Status {
        auto w = db_->query("UPDATE leases SET expires_at = ? WHERE owner = ?");
        if (!w) return w.status();
        if (Status r = w->bind(expires_at).bind(owner).run(); !r) return r;
        auto q = db_->query("SELECT name FROM leases WHERE owner = ? ORDER BY name");
        if (!q) return q.status();
        q->bind(owner);
        for (;;) {
            auto row = q->step();
            if (!row) return row.status();
            if (!*row) return Status::ok();
            held.push_back(q->text(0));
        }
    });
    if (!s) return s;
    return held;
}

Status SqliteStore::release_lease(const std::string& name, const std::string& owner) {
    std::lock_guard lock(mu_);
    auto q = db_->query("DELETE FROM leases WHERE name = ? AND owner = ?");
    if (!q) return q.status();
    return q->bind(name).bind(owner).run();
}

Result<std::vector<LeaseRow>> SqliteStore::list_leases() {
    std::lock_guard lock(mu_);
    auto q = db_->query(
        "SELECT name, owner, acquired_at, expires_at FROM leases ORDER BY name");
    if (!q) return q.status();
    std::vector<LeaseRow> out;
    for (;;) {
        auto row = q->step();
        if (!row) return row.status();
        if (!*row) return out;
        out.push_back(LeaseRow{q->text(0), q->text(1), q->i64(2), q->i64(3), ""});
    }
}

}  // namespace provisioner
