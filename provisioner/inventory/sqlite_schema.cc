#include "sqlite_schema.h"

#include <string>

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
        "UPDATE sqlite_master SET sql = replace(sql, '''retired'')', '''retired'', ''unreachable'')') "
        "WHERE type = 'table' AND name = 'hosts';"
        "PRAGMA schema_version = " + std::to_string(next) + ";PRAGMA writable_schema = OFF;";
    if (Status s = db.exec(edit.c_str()); !s)
        return s;
    auto check = db.query("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'hosts'");
    if (!check) return check.status();
    auto found = check->step();
    if (!found) return found.status();
    if (!*found || check->text(0).find("'unreachable'") == std::string::npos)
        return Status::error(Code::storage, "hosts.state could not be given 'unreachable'");
    return Status::ok();
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

Status migrate(Db& db) {
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
            if (m.version <= *version) continue;
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
        return Status::ok();
    });
}

}  // namespace provisioner::sqlite
