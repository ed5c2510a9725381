// Discovery bounded (discovery_gate.h): unknown MACs become hosts at a limited rate, up to a cap
// of waiting hosts, and those nobody accepts expire. Over a bound nothing is made: no host, no
// event, no DHCP entry.
#include <doctest/doctest.h>

#include <cstdio>

#include "test_server_fixture.h"

namespace {

using namespace servertest;

std::string mac_of(int n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "52:54:00:00:%02x:%02x", (n >> 8) & 0xff, n & 0xff);
    return buf;
}

std::string boot_path(int n) {
    std::string dashed = mac_of(n);
    for (char& c : dashed)
        if (c == ':') c = '-';
    return "/boot/" + dashed + ".ipxe";
}

std::size_t host_count(Server& s) {
    auto n = s.store->count_hosts({});
    REQUIRE(n.is_ok());
    return std::size_t(*n);
}

std::size_t event_count(Server& s) {
    auto events = s.store->list_events({});
    REQUIRE(events.is_ok());
    return events->size();
}

class RecordingObserver : public HostObserver {
  public:
    void host_changed(const Host& h) override { changed.push_back(h.name); }
    void host_removed(const Host& h) override { removed.push_back(h.name); }
    std::vector<std::string> changed, removed;
};

TEST_CASE("discovery: unknown MACs are rate-limited; over the rate nothing is made") {
    Server s([](ServerConfig& c) { c.discovery_per_minute = 3; });
    for (int i = 0; i < 3; ++i)
        CHECK(s.call(bhttp::verb::get, boot_path(i), "", "").result_int() == 200);
    const std::size_t hosts = host_count(s), events = event_count(s);
    CHECK(hosts == 3);
    auto refused = s.call(bhttp::verb::get, boot_path(3), "", "");
    CHECK(refused.result_int() == 429);
    CHECK(refused.body().find("discovery is limited to 3 new hosts a minute") != std::string::npos);
    auto hello = s.call_json(bhttp::verb::post, "/api/v1/agent/hello",
                             json{{"mac", mac_of(4)}, {"mode", "discover"}}.dump(), "");
    CHECK(s.last_status == 429);
    CHECK(hello["error"]["code"] == "too_many_requests");
    CHECK(host_count(s) == hosts);
    CHECK(event_count(s) == events);
    // A known MAC is never limited.
    CHECK(s.call(bhttp::verb::get, boot_path(0), "", "").result_int() == 200);

    s.discovery_clock.advance(std::chrono::seconds(19));  // 3 a minute: one every 20 s
    CHECK(s.call(bhttp::verb::get, boot_path(3), "", "").result_int() == 429);
    s.discovery_clock.advance(std::chrono::seconds(1));
    CHECK(s.call(bhttp::verb::get, boot_path(3), "", "").result_int() == 200);
    CHECK(s.call(bhttp::verb::get, boot_path(4), "", "").result_int() == 429);
    // The bucket holds one minute's worth, no more.
    s.discovery_clock.advance(std::chrono::minutes(10));
    for (int i = 10; i < 13; ++i)
        CHECK(s.call(bhttp::verb::get, boot_path(i), "", "").result_int() == 200);
    CHECK(s.call(bhttp::verb::get, boot_path(13), "", "").result_int() == 429);
    CHECK(host_count(s) == 7);
}

TEST_CASE("discovery: at most max_discovered hosts wait; accepting one makes room") {
    Server s([](ServerConfig& c) { c.max_discovered = 2; });
    for (int i = 0; i < 2; ++i) {
        s.call_json(bhttp::verb::post, "/api/v1/agent/hello",
                    json{{"mac", mac_of(i)}, {"mode", "discover"}}.dump(), "");
        CHECK(s.last_status == 200);
    }
    const std::size_t events = event_count(s);
    auto full = s.call_json(bhttp::verb::post, "/api/v1/agent/hello",
                            json{{"mac", mac_of(2)}, {"mode", "discover"}}.dump(), "");
    CHECK(s.last_status == 429);
    CHECK(full["error"]["message"].get<std::string>().find("discovery is full: 2 hosts") !=
          std::string::npos);
    CHECK(s.call(bhttp::verb::get, boot_path(2), "", "").result_int() == 429);
    CHECK(host_count(s) == 2);
    CHECK(event_count(s) == events);

    s.call_json(bhttp::verb::post, "/api/v1/hosts/" + mac_of(0) + "/accept",
                R"({"name":"rack1-h1"})");
    CHECK(s.last_status == 200);
    CHECK(s.call(bhttp::verb::get, boot_path(2), "", "").result_int() == 200);
    CHECK(host_count(s) == 3);
}

TEST_CASE("discovery: hosts nobody accepted expire; accepted ones stay") {
    base::FakeClock clock;
    SqliteOptions options;
    options.clock = &clock;  // hosts appear at the gate's time
    auto opened = open_sqlite_store(":memory:", options);
    REQUIRE(opened.is_ok());
    Store& store = **opened;
    DiscoveryLimits limits;
    limits.expiry = std::chrono::hours(1);
    limits.max_discovered = 2;
    DiscoveryGate gate(limits, clock);
    RecordingObserver observer;
    auto a = gate.discover(store, observer, *Mac::parse(mac_of(1)), "test");
    auto b = gate.discover(store, observer, *Mac::parse(mac_of(2)), "test");
    REQUIRE(a.host.is_ok());
    REQUIRE(b.host.is_ok());
    CHECK(observer.changed == std::vector<std::string>{"discovered-525400000001",
                                                       "discovered-525400000002"});
    REQUIRE(store.transition(b.host->id, HostState::enrolled, "accepted").is_ok());
    auto kept = gate.expire(store, observer);
    REQUIRE(kept.is_ok());
    CHECK(*kept == 0);  // not an hour old yet

    clock.advance(std::chrono::milliseconds(3'600'001));
    auto expired = gate.expire(store, observer);
    REQUIRE(expired.is_ok());
    CHECK(*expired == 1);
    CHECK(observer.removed == std::vector<std::string>{"discovered-525400000001"});
    CHECK(store.find_host(*Mac::parse(mac_of(1))).status().code() == Code::not_found);
    CHECK(store.find_host(*Mac::parse(mac_of(2))).is_ok());  // accepted: never expires

    // Lazily too: a full gate makes room by expiring first.
    auto c = gate.discover(store, observer, *Mac::parse(mac_of(3)), "test");
    auto d = gate.discover(store, observer, *Mac::parse(mac_of(4)), "test");
    REQUIRE(c.host.is_ok());
    REQUIRE(d.host.is_ok());
    CHECK(gate.discover(store, observer, *Mac::parse(mac_of(5)), "test").refused);
    clock.advance(std::chrono::milliseconds(3'600'001));
    auto e = gate.discover(store, observer, *Mac::parse(mac_of(5)), "test");
    CHECK_FALSE(e.refused);
    CHECK(e.host.is_ok());
    CHECK(observer.removed.size() == 3);
}

TEST_CASE("discovery: a rate of 0 discovers nothing") {
    Server s([](ServerConfig& c) { c.discovery_per_minute = 0; });
    CHECK(s.call(bhttp::verb::get, boot_path(1), "", "").result_int() == 429);
    CHECK(host_count(s) == 0);
}

}  // namespace
