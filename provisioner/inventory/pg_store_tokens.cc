// PgStore: operator API tokens and server-wide settings.
#include <algorithm>
#include <string>

#include "pg_store.h"

namespace provisioner {

using pg::Params;
using pg::Rows;

namespace {

ApiToken read_token(const Rows& r, int i) {
    return ApiToken{r.i64(i, 0), r.text(i, 1), r.text(i, 2), r.i64(i, 3)};
}

}  // namespace

Result<ApiToken> PgStore::add_api_token(const std::string& name, const std::string& token_sha256) {
    if (name.empty() || token_sha256.empty())
        return Status::error(Code::invalid_argument, "a token needs a name");
    std::lock_guard lock(mu_);
    ApiToken t{0, name, token_sha256, now()};
    auto rows = db_->write(
        "INSERT INTO api_tokens (name, token_sha256, created_at) VALUES ($1, $2, $3) RETURNING id",
        Params().add(t.name).add(t.token_sha256).add(t.created_at));
    if (!rows) {
        if (rows.status().code() == Code::conflict)
            return Status::error(Code::conflict, "a token named " + name + " exists already");
        return rows.status();
    }
    t.id = rows->i64(0, 0);
    return t;
}

Result<ApiToken> PgStore::find_api_token(const std::string& token_sha256) {
    // Every operator request asks, so on the reader; never cached, so that a token revoked
    // through another server is refused here from the next request on.
    return read([&](pg::Db& db) -> Result<ApiToken> {
        auto rows = db.query(
            "SELECT id, name, token_sha256, created_at FROM api_tokens WHERE token_sha256 = $1",
            Params().add(token_sha256));
        if (!rows) return rows.status();
        if (rows->empty()) return Status::error(Code::not_found, "no such token");
        return read_token(*rows, 0);
    });
}

Result<std::vector<ApiToken>> PgStore::list_api_tokens() {
    std::lock_guard lock(mu_);
    auto rows = db_->query("SELECT id, name, token_sha256, created_at FROM api_tokens ORDER BY id");
    if (!rows) return rows.status();
    std::vector<ApiToken> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(read_token(*rows, i));
    return out;
}

Result<ApiToken> PgStore::remove_api_token(const std::string& name) {
    std::lock_guard lock(mu_);
    ApiToken removed;
    // The table lock keeps two servers from each revoking one of the last two tokens between
    // the count and the delete (SQLite's BEGIN IMMEDIATE does the same for one file).
    Status done = db_->transaction([&]() -> Status {
        if (Status s = db_->exec("LOCK TABLE api_tokens IN SHARE ROW EXCLUSIVE MODE"); !s) return s;
        auto rows =
            db_->query("SELECT id, name, token_sha256, created_at FROM api_tokens WHERE name = $1",
                       Params().add(name));
        if (!rows) return rows.status();
        if (rows->empty()) return Status::error(Code::not_found, "no operator token named " + name);
        removed = read_token(*rows, 0);
        auto count = db_->query("SELECT count(*) FROM api_tokens");
        if (!count) return count.status();
        if (count->i64(0, 0) <= 1)
            return Status::error(Code::conflict,
                                 name +
                                     " is the last operator token; revoking it would lock "
                                     "every operator out (create another first)");
        auto gone = db_->write("DELETE FROM api_tokens WHERE id = $1", Params().add(removed.id));
        return gone ? Status::ok() : gone.status();
    });
    if (!done) return done;
    return removed;
}

Result<std::string> PgStore::get_setting(const std::string& key) {
    std::lock_guard lock(mu_);
    auto rows = db_->query("SELECT value FROM settings WHERE key = $1", Params().add(key));
    if (!rows) return rows.status();
    if (rows->empty()) return Status::error(Code::not_found, "setting " + key + " is not set");
    return rows->text(0, 0);
}

Result<std::string> PgStore::set_setting_once(const std::string& key, const std::string& value) {
    std::lock_guard lock(mu_);
    auto rows =
        db_->write("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                   Params().add(key).add(value));
    if (!rows) return rows.status();
    return get_setting(key);
}

Status PgStore::set_setting(const std::string& key, const std::string& value) {
    std::lock_guard lock(mu_);
    auto rows = db_->write(
        "INSERT INTO settings (key, value) VALUES ($1, $2)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        Params().add(key).add(value));
    return rows ? Status::ok() : rows.status();
}

Status PgStore::delete_setting(const std::string& key) {
    std::lock_guard lock(mu_);
    auto rows = db_->write("DELETE FROM settings WHERE key = $1", Params().add(key));
    return rows ? Status::ok() : rows.status();
}

Result<std::vector<std::string>> PgStore::list_setting_keys(const std::string& prefix) {
    std::lock_guard lock(mu_);
    // starts_with compares code points, not patterns; COLLATE "C" orders by bytes, whatever
    // the database's collation.
    auto rows =
        db_->query("SELECT key FROM settings WHERE starts_with(key, $1) ORDER BY key COLLATE \"C\"",
                   Params().add(prefix));
    if (!rows) return rows.status();
    std::vector<std::string> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(rows->text(i, 0));
    return out;
}

Result<std::vector<std::string>> PgStore::delete_settings_of_absent_hosts(
    const std::string& prefix) {
    std::lock_guard lock(mu_);
    auto rows = db_->write(
        "DELETE FROM settings s WHERE starts_with(s.key, $1) AND NOT EXISTS "
        "(SELECT 1 FROM hosts h WHERE s.key = $1 || h.id::text) RETURNING s.key",
        Params().add(prefix));
    if (!rows) return rows.status();
    std::vector<std::string> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(rows->text(i, 0));
    std::sort(out.begin(), out.end());  // byte order, as COLLATE "C"
    return out;
}

}  // namespace provisioner
