#include "sqlite_schema.h"

#include <string>
#include <vector>

namespace provisioner::sqlite {
namespace {

struct Migration {
    int version;
    const char* sql;
    // Run after sql, in the same transaction (a change SQL alone cannot make).
    Status (*then)(Db& db) = nullptr;
};

// hosts.state's CHECK takes 'unreachable'. SQLite cannot alter a CHECK, and rebuilding hosts
// would cascade deletes into every table referring to it; SQLite's documented procedure for
// loosening a CHECK is to edit the schema text and bump schema_version, so every connection
// (this one included) re-reads it (https://sqlite.org/lang_altertable.html, "otheralter").
Status allow_unreachable(Db& db) {
    std::int64_t next = 0;
    {
        auto version = db.query("PRAGMA schema_version");
        if (!version) return version.status();
        auto row = version->step();
        if (!row) return row.status();
        next = version->i64(0) + 1;
    }
    const std::string edit =
        "PRAGMA writable_schema = ON;"
        "UPDATE sqlite_master SET sql = replace(sql, '''retired'')', '''retired'', "
        "''unreachable'')') "
        "WHERE type = 'table' AND name = 'hosts';"
        "PRAGMA schema_version = " +
        std::to_string(next) + ";PRAGMA writable_schema = OFF;";
    if (Status s = db.exec(edit.c_str()); !s) return s;
    auto check = db.query("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'hosts'");
    if (!check) return check.status();
    auto found = check->step();
    if (!found) return found.status();
    if (!*found || check->text(0).find("'unreachable'") == std::string::npos)
        return Status::error(Code::storage, "hosts.state could not be given 'unreachable'");
    return Status::ok();
}

// The tables whose rows are deleted and whose ids name things outside their row: a host's id
// keys its events, history files, settings ("dom0_generation:ID") and VM actions; an image's
// and a template's, the peers' published delta servers and the rack caches; a token's, its
// revocation. SQLite without AUTOINCREMENT gives a new row max(id) + 1, so the newest row's
// id, once deleted, went to the next row with all that still attached; PostgreSQL's identity
// columns never give an id twice. (deployments and events are never deleted; VM applies and
// actions take their ids from id_sequences.)
constexpr const char* kIdsNeverReused[] = {"hosts", "images", "templates", "api_tokens"};

// Runs one statement of SQL text built here from the schema's own text.
Status exec_built_schema_sql(Db& db, const std::string& sql) {
    return db.exec(sql.c_str());
}

// Rebuilds table as SQLite's documented procedure for other schema changes has it (create
// the new table, copy, drop the old one, rename the new one, recreate its indexes and
// triggers; https://sqlite.org/lang_altertable.html, "otheralter"), its id now AUTOINCREMENT.
// The new table's text is the old one's as sqlite_master holds it (with every earlier
// migration's edits), with only "id INTEGER PRIMARY KEY," changed.
Status rebuild_with_autoincrement(Db& db, const std::string& table) {
    std::string create;
    std::vector<std::string> dependents;  // its indexes and triggers
    {
        auto q = db.query(
            "SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
            "ORDER BY type = 'table' DESC, name");
        if (!q) return q.status();
        q->bind(table);
        for (;;) {
            auto row = q->step();
            if (!row) return row.status();
            if (!*row) break;
            if (q->text(0) == "table")
                create = q->text(1);
            else
                dependents.push_back(q->text(1));
        }
    }
    // As migration 1 wrote it, or as a rename leaves it (the name quoted).
    std::string head = "CREATE TABLE " + table + " (";
    if (!create.starts_with(head)) head = "CREATE TABLE \"" + table + "\" (";
    const std::string key = "id INTEGER PRIMARY KEY,";
    if (create.starts_with(head) &&
        create.find("id INTEGER PRIMARY KEY AUTOINCREMENT,") != std::string::npos)
        return Status::ok();  // made so already (a database taken back to an older version)
    const auto at = create.find(key);
    if (!create.starts_with(head) || at == std::string::npos ||
        create.find(key, at + 1) != std::string::npos)
        return Status::error(Code::storage, "table " + table + " is not as this build made it: " +
                                                (create.empty() ? "absent" : create));
    const std::string rebuilt = table + "_autoincrement";
    std::string sql = create;
    sql.replace(at, key.size(), "id INTEGER PRIMARY KEY AUTOINCREMENT,");
    sql.replace(0, head.size(), "CREATE TABLE " + rebuilt + " (");
    for (const std::string& step :
         {sql, "INSERT INTO " + rebuilt + " SELECT * FROM " + table, "DROP TABLE " + table,
          "ALTER TABLE " + rebuilt + " RENAME TO " + table})
        if (Status s = exec_built_schema_sql(db, step); !s) return s.context("rebuilding " + table);
    for (const std::string& step : dependents)
        if (Status s = exec_built_schema_sql(db, step); !s) return s.context("rebuilding " + table);
    return Status::ok();
}

Status ids_never_reused(Db& db) {
    for (const char* table : kIdsNeverReused)
        if (Status s = rebuild_with_autoincrement(db, table); !s) return s;
    // A VM action's host_id has no foreign key: it may name a host deleted before this
    // migration, whose id a new host must not take either. (Other ids deleted before it are
    // unknown: the next row takes max(id) + 1 once more, then never again.)
    return db.exec(
        "UPDATE sqlite_sequence SET seq = max(seq, (SELECT coalesce(max(host_id), 0) FROM "
        "vm_actions)) WHERE name = 'hosts';"
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'hosts', max(host_id) FROM vm_actions "
        "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'hosts') "
        "HAVING count(*) > 0");
}

// Append only: a released migration never changes; a schema change is a new entry.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    image_sha256 TEXT NOT NULL,
    raw_size INTEGER NOT NULL,
    stored_size INTEGER NOT NULL,
    path TEXT NOT NULL,
    signature TEXT NOT NULL,
    imported_at INTEGER NOT NULL,
    UNIQUE (name, version)
);
CREATE TABLE hosts (
    id INTEGER PRIMARY KEY,
    mac TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    ip TEXT NOT NULL DEFAULT '',
    rack TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('discovered', 'enrolled', 'booting', 'imaging',
                                         'imaged', 'ready', 'failed', 'retired')),
    facts_json TEXT NOT NULL DEFAULT '',
    image_id INTEGER REFERENCES images(id) ON DELETE RESTRICT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX hosts_rack ON hosts(rack);
CREATE INDEX hosts_state ON hosts(state);
CREATE INDEX hosts_image ON hosts(image_id);
CREATE TABLE deployments (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE RESTRICT,
    transport TEXT NOT NULL CHECK (transport IN ('delta', 'multicast', 'torrent')),
    state TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'interrupted')),
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX deployments_image ON deployments(image_id);
CREATE TABLE deployment_targets (
    deployment_id INTEGER NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed')),
    transport TEXT NOT NULL CHECK (transport IN ('delta', 'multicast', 'torrent')),
    bytes_done INTEGER NOT NULL DEFAULT 0,
    bytes_total INTEGER NOT NULL DEFAULT 0,
    started_at INTEGER,
    finished_at INTEGER,
    error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (deployment_id, host_id)
);
CREATE INDEX deployment_targets_host ON deployment_targets(host_id);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    host_id INTEGER REFERENCES hosts(id) ON DELETE SET NULL,
    mac TEXT NOT NULL DEFAULT '',
    from_state TEXT,
    to_state TEXT,
    reason TEXT NOT NULL
);
CREATE INDEX events_host ON events(host_id, id);
)sql"},
    {2, R"sql(
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
)sql"},
    {3, R"sql(
CREATE TABLE templates (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('raw', 'qcow2')),
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    backing_id INTEGER REFERENCES templates(id) ON DELETE RESTRICT,
    path TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    UNIQUE (name, version)
);
CREATE INDEX templates_backing ON templates(backing_id);
CREATE TABLE template_labels (
    template_id INTEGER NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    PRIMARY KEY (template_id, label)
);
CREATE INDEX template_labels_label ON template_labels(label);
)sql"},
    // The server's own state (server_state.h): what a kill -9 must not lose.
    {4, R"sql(
CREATE TABLE id_sequences (
    name TEXT PRIMARY KEY,
    next INTEGER NOT NULL
);
CREATE TABLE vm_applies (
    id INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE vm_actions (
    id INTEGER PRIMARY KEY,
    apply_id INTEGER REFERENCES vm_applies(id) ON DELETE CASCADE,
    host_id INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('waiting', 'released', 'done', 'failed', 'skipped')),
    body TEXT NOT NULL
);
CREATE INDEX vm_actions_apply ON vm_actions(apply_id);
CREATE TABLE host_reports (
    host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
    reported_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE guest_reports (
    vm TEXT PRIMARY KEY,
    reported_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE disk_transfers (
    id TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    complete INTEGER NOT NULL CHECK (complete IN (0, 1)),
    started_at INTEGER NOT NULL
);
)sql"},
    // A host whose Dom0 agent stopped reporting (lifecycle.h).
    {5, "", allow_unreachable},
    // Hosts' BMCs (provisioner/power): the body holds the driver, address, user, the sealed
    // password and the last power state read.
    {6, R"sql(
CREATE TABLE host_bmcs (
    host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
    updated_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
)sql"},
    // Leases of work owned by one server at a time (server_state.h LeaseRow).
    {7, R"sql(
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
)sql"},
    // Ids never given twice, as PostgreSQL's (kIdsNeverReused).
    {8, "", ids_never_reused},
};

Result<int> read_version(Db& db) {
    auto q = db.query("SELECT max(version) FROM schema_version");
    if (!q) return q.status();
    auto row = q->step();
    if (!row) return row.status();
    return *row && !q->is_null(0) ? int(q->i64(0)) : 0;
}

}  // namespace

int latest_schema_version() {
    return kMigrations[std::size(kMigrations) - 1].version;
}

namespace {

Result<bool> foreign_keys_on(Db& db) {
    auto q = db.query("PRAGMA foreign_keys");
    if (!q) return q.status();
    auto row = q->step();
    if (!row) return row.status();
    return *row && q->i64(0) != 0;
}

Status check_foreign_keys(Db& db) {
    auto q = db.query("PRAGMA foreign_key_check");
    if (!q) return q.status();
    auto row = q->step();
    if (!row) return row.status();
    if (*row)
        return Status::error(Code::storage, "a row of table " + q->text(0) +
                                                " refers to a missing row of " + q->text(2));
    return Status::ok();
}

Status migrate_in_transaction(Db& db, int up_to) {
    return db.transaction([&]() -> Status {
        if (Status s = db.exec("CREATE TABLE IF NOT EXISTS schema_version ("
                               "version INTEGER NOT NULL, applied_at INTEGER NOT NULL)");
            !s)
            return s;
        auto version = read_version(db);
        if (!version) return version.status();
        if (*version > latest_schema_version())
            return Status::error(Code::storage, "inventory schema version " +
                                                    std::to_string(*version) +
                                                    " is newer than this build's " +
                                                    std::to_string(latest_schema_version()) +
                                                    "; upgrade provisionerd");
        for (const Migration& m : kMigrations) {
            if (m.version <= *version || (up_to > 0 && m.version > up_to)) continue;
            if (Status s = db.exec(m.sql); !s)
                return s.context("schema migration " + std::to_string(m.version));
            if (m.then)
                if (Status s = m.then(db); !s)
                    return s.context("schema migration " + std::to_string(m.version));
            auto q = db.query(
                "INSERT INTO schema_version (version, applied_at) "
                "VALUES (?, CAST(strftime('%s', 'now') AS INTEGER) * 1000)");
            if (!q) return q.status();
            if (Status s = q->bind(std::int64_t(m.version)).run(); !s) return s;
        }
        return check_foreign_keys(db);
    });
}

}  // namespace

Status migrate(Db& db, int up_to) {
    // PRAGMA foreign_keys is a no-op inside a transaction: set around it.
    auto was_on = foreign_keys_on(db);
    if (!was_on) return was_on.status();
    if (*was_on)
        if (Status s = db.exec("PRAGMA foreign_keys = OFF"); !s) return s;
    Status s = migrate_in_transaction(db, up_to);
    if (*was_on)
        if (Status on = db.exec("PRAGMA foreign_keys = ON"); !on && s) s = on;
    return s;
}

}  // namespace provisioner::sqlite
