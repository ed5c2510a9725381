// The store's hosts' BMC rows (server_state.h HostBmcRow), on every Store backend: replaced by
// host, listed by host, refused for a host that is gone, removed with their host, kept across
// a reopen.
#include <doctest/doctest.h>

#include "provisioner/store.h"
#include "store_sites.h"

using namespace provisioner;

STORE_TEST("inventory: hosts' BMC rows") {
    HostId h1 = 0, h2 = 0;
    {
        auto store = site.open();
        auto add = [&](const char* mac, const char* name) {
            auto host = store->add_host(HostSpec{*Mac::parse(mac), name, "", ""},
                                        HostState::enrolled, "test");
            REQUIRE(host.is_ok());
            return host->id;
        };
        h2 = add("52:54:00:00:00:02", "h2");
        h1 = add("52:54:00:00:00:01", "h1");
        REQUIRE(store->put_host_bmc({h1, 100, "{\"driver\":\"ipmi\"}"}));
        REQUIRE(store->put_host_bmc({h2, 101, "{\"driver\":\"redfish\"}"}));
        REQUIRE(store->put_host_bmc({h1, 102, "{\"driver\":\"manual\"}"}));  // replaced
        CHECK(store->put_host_bmc({h1 + h2 + 100, 103, "{}"}).code() == Code::conflict);
        CHECK(store->remove_host_bmc(h1 + h2 + 100));  // absent: ok
    }
    auto store = site.open();
    auto rows = store->list_host_bmcs();
    REQUIRE(rows.is_ok());
    REQUIRE(rows->size() == 2);
    CHECK((*rows)[0].host == std::min(h1, h2));
    const auto& r1 = (*rows)[0].host == h1 ? (*rows)[0] : (*rows)[1];
    CHECK(r1.updated_at == 102);
    CHECK(r1.body == "{\"driver\":\"manual\"}");
    REQUIRE(store->remove_host_bmc(h1));
    CHECK(store->list_host_bmcs()->size() == 1);
    REQUIRE(store->remove_host(h2));  // its BMC goes with it
    CHECK(store->list_host_bmcs()->empty());
    CHECK(store->integrity_check());
}
