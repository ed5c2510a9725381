// The inventory on PostgreSQL: the same Store (store.h) shared by several provisionerd.
//
// Each store holds two connections to the database: one for writes and the reads inside a
// transaction, one for the reads every API request makes (host listings, operator tokens,
// data_version()), so that those never wait behind a commit. Identity columns assign ids;
// concurrent writers from several servers meet in PostgreSQL's row locks and constraints,
// which report a duplicate as conflict exactly as SQLite does.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "provisioner/store.h"

namespace provisioner {

struct PgOptions {
    base::Clock* clock = nullptr;  // as SqliteOptions::clock
    bool check_integrity = true;  // run integrity_check() on open
    // Connections for reads outside transactions, each serving one read at a time (the
    // writer's is one more): about the API workers that read at once.
    int readers = 4;
};

// true for "postgresql://..." and "postgres://...": the --database values that name a
// PostgreSQL server rather than a SQLite file.
bool is_postgres_url(std::string_view database);

// Connects to url (a libpq URL: postgresql://[user@]host[:port]/db?param=..., a Unix socket
// by host=/dir) and brings the schema up to date. storage if the server cannot be reached or
// its schema is newer than this build.
Result<std::unique_ptr<Store>> open_postgres_store(const std::string& url,
                                                   const PgOptions& options = {});

// Whether another provisionerd is connected to the same database as store (its sessions carry
// application_name "provisionerd", set by open_postgres_store; a killed server's sessions end
// with its sockets). provisionerd recovers interrupted deployments at start only when none is:
// they may be another live server's. false for a store that is not PostgreSQL's.
Result<bool> another_server_connected(Store& store);

// The PostgreSQL schema version this build writes (its own numbering; see pg_schema.cc).
int current_postgres_schema_version();

}  // namespace provisioner
