// GET /api/v1/hosts answers from HostListCache while the store's data_version() is the one
// the answer was built at: the cache's bounds, and that every commit, from this store or
// another connection to its file, changes the version.
#include <doctest/doctest.h>

#include "host_list_cache.h"
#include "provisioner/store.h"
#include "test_util.h"

using namespace provisioner;
using provisioner::server::HostListCache;

TEST_CASE("HostListCache: an answer is served only at the version it was built at") {
    HostListCache cache;
    CHECK(cache.find("/api/v1/hosts?limit=50", 1) == nullptr);
    cache.put("/api/v1/hosts?limit=50", 1, "page");
    REQUIRE(cache.find("/api/v1/hosts?limit=50", 1) != nullptr);
    CHECK(*cache.find("/api/v1/hosts?limit=50", 1) == "page");
    CHECK(cache.find("/api/v1/hosts?limit=50", 2) == nullptr);
    CHECK(cache.find("/api/v1/hosts?limit=51", 1) == nullptr);
    CHECK(cache.find("/api/v1/hosts", 1) == nullptr);

    cache.put("/api/v1/hosts?limit=50", 2, "newer");
    CHECK(cache.find("/api/v1/hosts?limit=50", 1) == nullptr);
    CHECK(*cache.find("/api/v1/hosts?limit=50", 2) == "newer");

    SUBCASE("bounded: the least recently used goes first") {
        cache.put("/api/v1/hosts?offset=0", 2, "kept");
        for (std::size_t i = 1; i < HostListCache::kEntries; ++i) {
            cache.put("/api/v1/hosts?offset=" + std::to_string(i), 2, "x");
            CHECK(cache.find("/api/v1/hosts?offset=0", 2) != nullptr);  // used: stays first
        }
        CHECK(cache.find("/api/v1/hosts?limit=50", 2) == nullptr);  // the oldest, gone
        CHECK(cache.find("/api/v1/hosts?offset=1", 2) != nullptr);
    }
    SUBCASE("an answer over kMaxBody is not kept") {
        cache.put("/api/v1/hosts", 2, std::string(HostListCache::kMaxBody + 1, 'x'));
        CHECK(cache.find("/api/v1/hosts", 2) == nullptr);
    }
}

TEST_CASE("SqliteStore::data_version changes with every commit, from any connection") {
    testutil::TempDir dir;
    const auto path = dir.path() / "inventory.db";
    auto opened = open_sqlite_store(path);
    REQUIRE(opened.is_ok());
    auto& store = **opened;
    HostSpec spec{*Mac::parse("52:54:00:00:03:01"), "h1", "", "r1"};

    auto v1 = store.data_version();
    REQUIRE(v1);
    CHECK(store.data_version() == v1);  // reads change nothing
    REQUIRE(store.count_hosts({}).is_ok());
    CHECK(store.data_version() == v1);

    REQUIRE(store.add_host(spec, HostState::enrolled, "test").is_ok());
    auto v2 = store.data_version();
    REQUIRE(v2);
    CHECK(v2 != v1);

    auto other = open_sqlite_store(path);
    REQUIRE(other.is_ok());
    REQUIRE((*other)->add_api_token("ci", "bb22").is_ok());
    auto v3 = store.data_version();
    REQUIRE(v3);
    CHECK(v3 != v2);
    CHECK(v3 != v1);

    // Inside a transaction its own uncommitted writes could not be told apart: no version.
    std::optional<std::uint64_t> inside = 1;
    REQUIRE(store.transaction([&]() -> Status {
                     inside = store.data_version();
                     return Status::ok();
                 }).is_ok());
    CHECK_FALSE(inside);

    auto memory = open_sqlite_store(":memory:");
    REQUIRE(memory.is_ok());
    CHECK_FALSE((*memory)->data_version());
}
