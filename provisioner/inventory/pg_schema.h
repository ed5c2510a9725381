// The inventory's schema on PostgreSQL and its migrations (the SQLite one is sqlite_schema.h).
#pragma once

#include "pg_db.h"

namespace provisioner::pg {

// The highest migration of this build.
int latest_schema_version();

// Brings the schema up to date in one transaction, under an advisory lock so that servers
// starting together migrate once. storage if the database is newer than this build.
Status migrate(Db& db);

// The version the database is at (0: empty).
Result<int> schema_version(Db& db);

}  // namespace provisioner::pg
