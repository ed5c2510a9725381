// The inventory's SQLite schema as numbered migrations, and the code that applies them.
// A database records its version in schema_version; opening applies every newer migration in
// one transaction and refuses a database written by a newer build.
#pragma once

#include "provisioner/status.h"
#include "sqlite_db.h"

namespace provisioner::sqlite {

int latest_schema_version();
// Brings db's schema up to version up_to (0: the latest). The migrations run in one
// transaction with foreign keys off (a table rebuilt must not cascade deletes into the tables
// that refer to it: https://sqlite.org/lang_altertable.html, "otheralter"), checked before
// the commit (PRAGMA foreign_key_check); the setting is restored afterwards.
Status migrate(Db& db, int up_to = 0);

}  // namespace provisioner::sqlite
