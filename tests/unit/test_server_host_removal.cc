// A host's Dom0 token generation goes with the host (api_hosts.cc, auth.h): on SQLite a
// removed last id is handed out again, and the host that gets it starts at generation 0, its
// Dom0 token not the removed host's generation's.
#include <doctest/doctest.h>

#include "test_server_fixture.h"

using namespace servertest;

TEST_CASE("server api: removing a host removes its Dom0 token generation") {
    Server s;
    auto h1 =
        s.call_json(bhttp::verb::post, "/api/v1/hosts",
                    json{{"mac", "52:54:00:00:00:01"}, {"name", "h1"}, {"rack", "r1"}}.dump());
    REQUIRE(s.last_status == 201);
    const HostId id = h1["id"].get<HostId>();
    REQUIRE(Authenticator::set_dom0_generation(*s.store, id, 9));  // imaged by deployment 9
    const std::string key = "dom0_generation:" + std::to_string(id);
    CHECK(*s.store->get_setting(key) == "9");

    s.call_json(bhttp::verb::delete_, "/api/v1/hosts/h1");
    REQUIRE(s.last_status == 200);
    CHECK(s.store->get_setting(key).status().code() == Code::not_found);

    auto h2 =
        s.call_json(bhttp::verb::post, "/api/v1/hosts",
                    json{{"mac", "52:54:00:00:00:02"}, {"name", "h2"}, {"rack", "r1"}}.dump());
    REQUIRE(s.last_status == 201);
    CHECK(h2["id"].get<HostId>() == id);  // SQLite's INTEGER PRIMARY KEY: the id again
    auto host = s.store->get_host(id);
    REQUIRE(host.is_ok());
    CHECK(s.auth->dom0_token(*host).value() == s.auth->dom0_token(*host, 0));
}
