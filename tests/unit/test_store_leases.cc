// Leases (server_state.h LeaseRow) on every Store backend: taken when free, renewed by their
// owner, refused while alive, taken over once expired (naming the owner they came from), lost
// to a takeover on renewal, released only by their owner, kept across a reopen.
#include <doctest/doctest.h>

#include "provisioner/store.h"
#include "store_sites.h"

using namespace provisioner;

STORE_TEST("inventory: leases are taken, renewed, taken over and released") {
    {
        auto store = site.open();
        CHECK(store->acquire_lease("", "a", 0, 1).status().code() == Code::invalid_argument);
        auto a = store->acquire_lease("deployment:1", "server-a", 1000, 11000);
        REQUIRE(a.is_ok());
        CHECK(a->owner == "server-a");
        CHECK(a->acquired_at == 1000);
        CHECK(a->expires_at == 11000);
        CHECK(a->taken_from.empty());
        // Alive: another server gets the holder's lease back, unchanged.
        auto b = store->acquire_lease("deployment:1", "server-b", 5000, 15000);
        REQUIRE(b.is_ok());
        CHECK(b->owner == "server-a");
        CHECK(b->expires_at == 11000);
        // Renewed by its owner: its start stays.
        auto again = store->acquire_lease("deployment:1", "server-a", 6000, 16000);
        REQUIRE(again.is_ok());
        CHECK(again->owner == "server-a");
        CHECK(again->acquired_at == 1000);
        CHECK(again->expires_at == 16000);
        CHECK(again->taken_from.empty());
        REQUIRE(store->acquire_lease("hot-templates", "server-a", 6000, 16000).is_ok());
        REQUIRE(store->acquire_lease("deployment:2", "server-b", 6000, 16000).is_ok());
        auto held = store->renew_leases("server-a", 20000);
        REQUIRE(held.is_ok());
        CHECK(*held == std::vector<std::string>{"deployment:1", "hot-templates"});
        // Not yet expired at 19999; expired at its expiry.
        CHECK(store->acquire_lease("deployment:1", "server-b", 19999, 30000)->owner == "server-a");
        auto taken = store->acquire_lease("deployment:1", "server-b", 20000, 30000);
        REQUIRE(taken.is_ok());
        CHECK(taken->owner == "server-b");
        CHECK(taken->acquired_at == 20000);
        CHECK(taken->expires_at == 30000);
        CHECK(taken->taken_from == "server-a");
        // The old owner, back, renews what is still its own only.
        held = store->renew_leases("server-a", 40000);
        REQUIRE(held.is_ok());
        CHECK(*held == std::vector<std::string>{"hot-templates"});
        // Released by its owner alone.
        REQUIRE(store->release_lease("deployment:1", "server-a"));
        CHECK(store->acquire_lease("deployment:1", "server-c", 21000, 31000)->owner == "server-b");
        REQUIRE(store->release_lease("deployment:1", "server-b"));
        REQUIRE(store->release_lease("nothing", "server-b"));  // absent: ok
        auto free = store->acquire_lease("deployment:1", "server-c", 21000, 31000);
        REQUIRE(free.is_ok());
        CHECK(free->owner == "server-c");
        CHECK(free->taken_from.empty());
    }
    auto store = site.open();  // a new connection: the rows are in the database
    auto leases = store->list_leases();
    REQUIRE(leases.is_ok());
    REQUIRE(leases->size() == 3);
    CHECK((*leases)[0].name == "deployment:1");
    CHECK((*leases)[0].owner == "server-c");
    CHECK((*leases)[1].name == "deployment:2");
    CHECK((*leases)[1].owner == "server-b");
    CHECK((*leases)[2].name == "hot-templates");
    CHECK((*leases)[2].expires_at == 40000);
}
