// The inventory's SQLite schema as numbered migrations, and the code that applies them.
// A database records its version in schema_version; opening applies every newer migration in
// one transaction and refuses a database written by a newer build.
#pragma once

#include "provisioner/status.h"
#include "sqlite_db.h"

namespace provisioner::sqlite {

int latest_schema_version();
Status migrate(Db& db);

}  // namespace provisioner::sqlite
