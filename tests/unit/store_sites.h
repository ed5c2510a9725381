// The Store conformance suite's backends: every STORE_TEST runs once on SQLite (a file in a
// temporary directory) and once on PostgreSQL (a fresh schema in a cluster this test binary
// starts in a temporary directory, once, on first use; stopped at exit).
//
// The PostgreSQL cases always run: without initdb under /usr/lib/postgresql/*/bin (scripts/setup
// installs postgresql) they fail, saying so, as does a cluster that fails to start.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "base/clock.h"
#include "provisioner/store.h"

namespace testutil {

// Where a store's data lives; each open() is a new connection (a reopen after a kill -9).
class StoreSite {
  public:
    virtual ~StoreSite() = default;
    // REQUIREs success. clock: the store's clock, which must outlive it (default: a
    // deterministic one of the site's, +1 s a reading, from 1,000,000 ms).
    virtual std::unique_ptr<provisioner::Store> open(base::Clock* clock = nullptr) = 0;
    virtual provisioner::Result<std::unique_ptr<provisioner::Store>> try_open() = 0;
    virtual const char* backend() const = 0;
};

std::unique_ptr<StoreSite> sqlite_site();
std::unique_ptr<StoreSite> postgres_site();


// For a PostgreSQL site: runs sql (constant, test-made) in its schema. REQUIREs success.
void postgres_exec(StoreSite& site, const std::string& sql);

}  // namespace testutil

#define STORE_TEST_IMPL(body, title)                                                 \
    static void body(testutil::StoreSite& site);                                     \
    TEST_CASE(title " (sqlite)") {                                                   \
        auto site = testutil::sqlite_site();                                         \
        body(*site);                                                                 \
    }                                                                                \
    TEST_CASE(title " (postgresql)") {                                                \
        auto site = testutil::postgres_site();                                       \
        body(*site);                                                                 \
    }                                                                                \
    static void body([[maybe_unused]] testutil::StoreSite& site)

// A test case run on every Store backend; its body sees `site` (a testutil::StoreSite&).
#define STORE_TEST(title) STORE_TEST_IMPL(DOCTEST_ANONYMOUS(STORE_TEST_BODY_), title)
