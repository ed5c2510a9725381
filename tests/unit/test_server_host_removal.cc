// A host's Dom0 token generation goes with the host (api_hosts.cc, auth.h). Ids are never
// given twice (on SQLite too, since schema 8), and the next host starts at generation 0.
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
    const HostId id2 = h2["id"].get<HostId>();
    CHECK(id2 > id);  // never the removed host's id, nor what is keyed by it
    CHECK(s.store->get_setting("dom0_generation:" + std::to_string(id2)).status().code() ==
          Code::not_found);
    auto host = s.store->get_host(id2);
    REQUIRE(host.is_ok());
    CHECK(s.auth->dom0_token(*host).value() == s.auth->dom0_token(*host, 0));
}
