// The inventory's read connection: host listings and operator-token lookups go to a second,
// read-only connection, so that they never wait for a writer's commit; they still see every
// committed change at once (a revoked token is refused from the next lookup on), and a
// transaction's own reads see its uncommitted writes.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <thread>

#include "provisioner/store.h"
#include "test_util.h"

using namespace provisioner;
using namespace std::chrono_literals;

namespace {

HostSpec spec(int i) {
    char mac[32];
    std::snprintf(mac, sizeof mac, "52:54:00:00:02:%02x", i);
    return HostSpec{*Mac::parse(mac), "h" + std::to_string(i), "", "r1"};
}

std::unique_ptr<Store> open(const std::filesystem::path& path) {
    auto store = open_sqlite_store(path);
    REQUIRE_MESSAGE(store.is_ok(), store.status().message());
    return std::move(*store);
}

}  // namespace

TEST_CASE("inventory reader: listings and token lookups do not wait for a transaction") {
    testutil::TempDir dir;
    auto store = open(dir.path() / "inventory.db");
    REQUIRE(store->add_host(spec(1), HostState::enrolled, "test").is_ok());
    REQUIRE(store->add_api_token("admin", "aa11").is_ok());

    std::promise<void> inside, release;
    auto writer = std::async(std::launch::async, [&] {
        return store->transaction([&]() -> Status {
            if (auto h = store->add_host(spec(2), HostState::enrolled, "test"); !h)
                return h.status();
            // The transaction's own reads see its uncommitted host.
            auto own = store->count_hosts({});
            if (!own || *own != 2) return Status::error(Code::storage, "own write not seen");
            auto listed = store->list_hosts({});
            if (!listed || listed->size() != 2)
                return Status::error(Code::storage, "own write not listed");
            inside.set_value();
            release.get_future().wait();
            return Status::ok();
        });
    });
    inside.get_future().wait();

    // Another thread, while the writer holds its transaction open: answered at once, with
    // what is committed.
    auto reader = std::async(std::launch::async, [&] {
        auto count = store->count_hosts({});
        auto hosts = store->list_hosts({});
        auto token = store->find_api_token("aa11");
        return count && *count == 1 && hosts && hosts->size() == 1 && token &&
               token->name == "admin";
    });
    const bool answered = reader.wait_for(5s) == std::future_status::ready;
    CHECK_MESSAGE(answered, "a read waited for the writer's transaction");
    release.set_value();
    CHECK(reader.get());
    Status committed = writer.get();
    CHECK_MESSAGE(committed.is_ok(), committed.message());

    // Committed: the next read sees it.
    CHECK(*store->count_hosts({}) == 2);
    CHECK(store->list_hosts({})->size() == 2);
}

TEST_CASE("inventory reader: a rolled-back transaction is never seen") {
    testutil::TempDir dir;
    auto store = open(dir.path() / "inventory.db");
    Status s = store->transaction([&]() -> Status {
        if (auto h = store->add_host(spec(1), HostState::enrolled, "test"); !h) return h.status();
        return Status::error(Code::conflict, "changed my mind");
    });
    CHECK(s.code() == Code::conflict);
    CHECK(*store->count_hosts({}) == 0);
    CHECK(store->list_hosts({})->empty());
}

TEST_CASE("inventory reader: a revoked operator token is refused at once") {
    testutil::TempDir dir;
    const auto path = dir.path() / "inventory.db";
    auto store = open(path);
    REQUIRE(store->add_api_token("admin", "aa11").is_ok());
    REQUIRE(store->add_api_token("ci", "bb22").is_ok());
    REQUIRE(store->add_api_token("ops", "cc33").is_ok());
    CHECK(store->find_api_token("bb22").is_ok());

    SUBCASE("by this store") {
        REQUIRE(store->remove_api_token("ci").is_ok());
        CHECK(store->find_api_token("bb22").status().code() == Code::not_found);
    }
    SUBCASE("by another connection to the file (another provisionerd, or offline)") {
        auto other = open(path);
        REQUIRE(other->remove_api_token("ci").is_ok());
        CHECK(store->find_api_token("bb22").status().code() == Code::not_found);
        REQUIRE(other->add_api_token("new", "dd44").is_ok());
        CHECK(store->find_api_token("dd44").is_ok());
    }
    CHECK(store->find_api_token("aa11").is_ok());
}
