// SqliteStore: operator API tokens and server-wide settings.
#include <algorithm>
#include <string>

#include "sqlite_store.h"

namespace provisioner {

using sqlite::Query;

namespace {

ApiToken read_token(const Query& q) {
    ApiToken t;
    t.id = q.i64(0);
    t.name = q.text(1);
    t.token_sha256 = q.text(2);
    t.created_at = q.i64(3);
    return t;
}

}  // namespace

Result<ApiToken> SqliteStore::add_api_token(const std::string& name,
                                            const std::string& token_sha256) {
    if (name.empty() || token_sha256.empty())
        return Status::error(Code::invalid_argument, "a token needs a name");
    std::lock_guard lock(mu_);
    auto q = db_->query("INSERT INTO api_tokens (name, token_sha256, created_at) VALUES (?, ?, ?)");
    if (!q) return q.status();
    ApiToken t{0, name, token_sha256, now()};
    if (Status s = q->bind(t.name).bind(t.token_sha256).bind(t.created_at).run(); !s) {
        if (s.code() == Code::conflict)
            return Status::error(Code::conflict, "a token named " + name + " exists already");
        return s;
    }
    t.id = db_->last_insert_rowid();
    return t;
}

Result<ApiToken> SqliteStore::find_api_token(const std::string& token_sha256) {
    // Every operator request asks: on the reader, so that it does not wait for a writer. Not
    // cached: a token revoked by another connection (another provisionerd, `provisionerd
    // token revoke` on the file) is refused from the next request on.
    return read([&](sqlite::Db& db) -> Result<ApiToken> {
        auto q = db.query(
            "SELECT id, name, token_sha256, created_at FROM api_tokens WHERE token_sha256 = ?");
        if (!q) return q.status();
        q->bind(token_sha256);
        auto row = q->step();
        if (!row) return row.status();
        if (!*row) return Status::error(Code::not_found, "no such token");
        return read_token(*q);
    });
}

Result<std::vector<ApiToken>> SqliteStore::list_api_tokens() {
    std::lock_guard lock(mu_);
    auto q = db_->query("SELECT id, name, token_sha256, created_at FROM api_tokens ORDER BY id");
    if (!q) return q.status();
    std::vector<ApiToken> out;
    for (;;) {
        auto row = q->step();
        if (!row) return row.status();
        if (!*row) return out;
        out.push_back(read_token(*q));
    }
}

Result<ApiToken> SqliteStore::remove_api_token(const std::string& name) {
    std::lock_guard lock(mu_);
    ApiToken removed;
    // BEGIN IMMEDIATE: another process sharing the file cannot revoke the other token between
    // the count and the delete.
    Status done = db_->transaction([&]() -> Status {
        {
            auto q = db_->query(
                "SELECT id, name, token_sha256, created_at FROM api_tokens WHERE name = ?");
            if (!q) return q.status();
            q->bind(name);
            auto row = q->step();
            if (!row) return row.status();
            if (!*row) return Status::error(Code::not_found, "no operator token named " + name);
            removed = read_token(*q);
        }
        {
            auto q = db_->query("SELECT count(*) FROM api_tokens");
            if (!q) return q.status();
            auto row = q->step();
            if (!row) return row.status();
            if (*row && q->i64(0) <= 1)
                return Status::error(Code::conflict,
                                     name +
                                         " is the last operator token; revoking it would lock "
                                         "every operator out (create another first)");
        }
        auto q = db_->query("DELETE FROM api_tokens WHERE id = ?");
        if (!q) return q.status();
        return q->bind(removed.id).run();
    });
    if (!done) return done;
    return removed;
}

Result<std::string> SqliteStore::get_setting(const std::string& key) {
    std::lock_guard lock(mu_);
    auto q = db_->query("SELECT value FROM settings WHERE key = ?");
    if (!q) return q.status();
    q->bind(key);
    auto row = q->step();
    if (!row) return row.status();
    if (!*row) return Status::error(Code::not_found, "setting " + key + " is not set");
    return q->text(0);
}

Result<std::string> SqliteStore::set_setting_once(const std::string& key,
                                                  const std::string& value) {
    std::lock_guard lock(mu_);
    auto q = db_->query("INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)");
    if (!q) return q.status();
    if (Status s = q->bind(key).bind(value).run(); !s) return s;
    return get_setting(key);
}

Status SqliteStore::set_setting(const std::string& key, const std::string& value) {
    std::lock_guard lock(mu_);
    auto q = db_->query(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    if (!q) return q.status();
    return q->bind(key).bind(value).run();
}

Status SqliteStore::delete_setting(const std::string& key) {
    std::lock_guard lock(mu_);
    auto q = db_->query("DELETE FROM settings WHERE key = ?");
    if (!q) return q.status();
    return q->bind(key).run();
}

Result<std::vector<std::string>> SqliteStore::list_setting_keys(const std::string& prefix) {
    std::lock_guard lock(mu_);
    // substr and length count characters of valid UTF-8 text; CAST AS BLOB counts bytes, so a
    // prefix holding '%', '_' or any byte matches only itself.
    auto q = db_->query(
        "SELECT key FROM settings WHERE substr(CAST(key AS BLOB), 1, length(CAST(? AS BLOB))) = "
        "CAST(? AS BLOB) ORDER BY CAST(key AS BLOB)");
    if (!q) return q.status();
    q->bind(prefix).bind(prefix);
    std::vector<std::string> out;
    for (;;) {
        auto row = q->step();
        if (!row) return row.status();
        if (!*row) return out;
        out.push_back(q->text(0));
    }
}

Result<std::vector<std::string>> SqliteStore::delete_settings_of_absent_hosts(
    const std::string& prefix) {
    std::lock_guard lock(mu_);
    // The host is found by its id (the primary key), then the key compared in full, so that
    // "prefix0007" or "prefix7x" is no host's. Counts in characters on both sides (the key
    // begins with prefix byte for byte).
    auto q = db_->query(
        "DELETE FROM settings WHERE substr(CAST(key AS BLOB), 1, length(CAST(? AS BLOB))) = "
        "CAST(? AS BLOB) AND NOT EXISTS (SELECT 1 FROM hosts WHERE hosts.id = "
        "CAST(substr(settings.key, length(?) + 1) AS INTEGER) AND settings.key = ? || hosts.id) "
        "RETURNING key");
    if (!q) return q.status();
    q->bind(prefix).bind(prefix).bind(prefix).bind(prefix);
    std::vector<std::string> out;
    for (;;) {
        auto row = q->step();
        if (!row) return row.status();
        if (!*row) break;
        out.push_back(q->text(0));
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace provisioner
