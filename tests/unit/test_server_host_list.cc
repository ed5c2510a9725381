// GET /api/v1/hosts writes its JSON without a tree (append_host_json); these hold it to the
// bytes the nlohmann form (host_json, json_response) gives, and to the same paging answers.
#include <doctest/doctest.h>

#include "json_views.h"
#include "test_server_fixture.h"

namespace {

using namespace servertest;

std::string dumped(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string appended(const Host& host) {
    std::string out;
    append_host_json(out, host);
    return out;
}

Host plain_host() {
    Host h;
    h.id = 7;
    h.mac = *Mac::parse("52:54:00:aa:bb:cc");
    h.name = "rack1-node07";
    h.ip = "10.0.0.7";
    h.rack = "rack-1";
    h.state = HostState::imaging;
    h.created_at = 1796421138983;
    h.updated_at = 1796421139000;
    return h;
}

}  // namespace

TEST_CASE("append_host_json gives host_json's bytes") {
    Host h = plain_host();
    CHECK(appended(h) == dumped(host_json(h)));

    h.image = 3;
    h.facts_json = R"({"cpus": 8, "disks": [{"name": "sda", "size": 1e12}], "b": null, "a": "x"})";
    CHECK(appended(h) == dumped(host_json(h)));

    SUBCASE("strings that need escapes or are not ASCII") {
        h.name = "quote\" back\\slash";
        h.ip = std::string("tab\tnew\nline\x01\x1f\x7f");
        h.rack = "r\xc3\xa9seau \xe2\x98\x83";  // UTF-8
        CHECK(appended(h) == dumped(host_json(h)));
        h.rack = "bad \xff\xfe utf-8 \xc3";  // replaced, as json_response does
        CHECK(appended(h) == dumped(host_json(h)));
    }
    SUBCASE("facts that do not parse are null") {
        h.facts_json = "{not json";
        CHECK(appended(h) == dumped(host_json(h)));
        CHECK(appended(h).find("\"facts\":null") != std::string::npos);
    }
    SUBCASE("every state, negative and large numbers") {
        for (HostState s : {HostState::discovered, HostState::enrolled, HostState::booting,
                            HostState::imaging, HostState::imaged, HostState::ready,
                            HostState::failed, HostState::retired}) {
            h.state = s;
            CHECK(appended(h) == dumped(host_json(h)));
        }
        h.id = std::numeric_limits<HostId>::max();
        h.created_at = -1;
        h.updated_at = 0;
        h.image = 0;
        CHECK(appended(h) == dumped(host_json(h)));
    }
}

TEST_CASE("GET /api/v1/hosts: the bytes and paging of the nlohmann form") {
    Server s;
    for (int i = 0; i < 7; ++i) {
        char mac[32];
        std::snprintf(mac, sizeof mac, "52:54:00:00:01:%02x", i);
        HostSpec spec{*Mac::parse(mac), "node-" + std::to_string(6 - i),
                      "10.1.0." + std::to_string(i + 1), i % 2 ? "odd" : "even"};
        REQUIRE(s.store->add_host(spec, HostState::enrolled, "test").is_ok());
    }
    auto one = s.store->find_host_by_name("node-2");
    REQUIRE(one.is_ok());
    one->facts_json = R"({"cpus":4})";
    REQUIRE(s.store->update_host(*one).is_ok());

    // What the handler answered before it wrote its JSON by hand.
    auto expected = [&](HostFilter filter) {
        auto total = s.store->count_hosts(filter);
        auto hosts = s.store->list_hosts(filter);
        REQUIRE(total.is_ok());
        REQUIRE(hosts.is_ok());
        json list = json::array();
        for (const Host& h : *hosts) list.push_back(host_json(h));
        return dumped(json{{"hosts", list}, {"total", *total}}) + "\n";
    };
    auto answer = [&](const std::string& target) {
        auto res = s.call(bhttp::verb::get, target);
        CHECK(res.result_int() == 200);
        CHECK(res[bhttp::field::content_type] == "application/json");
        return res.body();
    };

    CHECK(answer("/api/v1/hosts") == expected({}));
    HostFilter page;
    page.limit = 3;
    CHECK(answer("/api/v1/hosts?limit=3") == expected(page));
    page.offset = 5;
    CHECK(answer("/api/v1/hosts?limit=3&offset=5") == expected(page));
    page.offset = 50;
    auto past_end = json::parse(answer("/api/v1/hosts?limit=3&offset=50"));
    CHECK(past_end["hosts"].empty());
    CHECK(past_end["total"] == 7);
    HostFilter odd;
    odd.rack = "odd";
    CHECK(answer("/api/v1/hosts?selector=rack%3Dodd") == expected(odd));
    CHECK(json::parse(answer("/api/v1/hosts?selector=rack%3Dodd"))["total"] == 3);
    HostFilter glob;
    glob.name_glob = "node-[0-2]";
    glob.limit = 2;
    CHECK(answer("/api/v1/hosts?selector=node-%5B0-2%5D&limit=2") == expected(glob));
    CHECK(json::parse(answer("/api/v1/hosts?limit=1"))["total"] == 7);

    CHECK(s.call(bhttp::verb::get, "/api/v1/hosts?limit=-1").result_int() == 400);
    CHECK(s.call(bhttp::verb::get, "/api/v1/hosts?selector=").result_int() == 400);
}
