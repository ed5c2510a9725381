// Store::add_hosts on every backend (PostgreSQL writes batches of 1000): more hosts than one
// batch, each as add_host would make it (state, fields, empty IPs and racks, one event each, in
// order); a taken MAC in a later batch fails the whole call, naming it, and leaves nothing of it;
// the count of all hosts follows every change.
#include <doctest/doctest.h>

#include <cstdio>

#include "provisioner/store.h"
#include "store_sites.h"

using namespace provisioner;

namespace {

std::vector<HostSpec> specs(int from, int count) {
    std::vector<HostSpec> out;
    for (int i = from; i < from + count; ++i) {
        char mac[32], name[32];
        std::snprintf(mac, sizeof mac, "52:54:00:%02x:%02x:%02x", (i >> 16) & 255, (i >> 8) & 255,
                      i & 255);
        std::snprintf(name, sizeof name, "host-%05d", i);
        out.push_back({*Mac::parse(mac), name, i % 2 ? "10.1.0." + std::to_string(i % 250 + 1) : "",
                       i % 3 ? "rack-" + std::to_string(i / 40) : ""});
    }
    return out;
}

}  // namespace

STORE_TEST("inventory: add_hosts adds many hosts at once, all or none") {
    auto store = site.open();
    auto first = store->add_host(specs(0, 1)[0], HostState::enrolled, "by hand");
    REQUIRE(first.is_ok());
    const auto batch = specs(1, 2500);
    auto added = store->add_hosts(batch, HostState::enrolled, "imported");
    REQUIRE_MESSAGE(added.is_ok(), added.status().message());
    REQUIRE(added->size() == batch.size());
    for (std::size_t i = 0; i < batch.size(); i += 499) {
        const Host& h = (*added)[i];
        CHECK(h.mac == batch[i].mac);
        CHECK(h.name == batch[i].name);
        auto stored = store->get_host(h.id);
        REQUIRE(stored.is_ok());
        CHECK(stored->mac == batch[i].mac);
        CHECK(stored->name == batch[i].name);
        CHECK(stored->ip == batch[i].ip);
        CHECK(stored->rack == batch[i].rack);
        CHECK(stored->state == HostState::enrolled);
    }
    CHECK(*store->count_hosts(HostFilter{}) == 2501);
    auto events = store->list_events(EventFilter{});
    REQUIRE(events.is_ok());
    REQUIRE(events->size() == 2501);
    for (std::size_t i = 0; i < batch.size(); ++i) {  // one each, in the order given
        const Event& e = (*events)[i + 1];
        REQUIRE(e.host.has_value());
        CHECK(*e.host == (*added)[i].id);
        CHECK(e.mac == batch[i].mac.str());
        CHECK(e.to == HostState::enrolled);
        CHECK_FALSE(e.from.has_value());
        CHECK(e.reason == "imported");
    }

    // The 1,800th of 2,000 takes host-00000's MAC: nothing of the call stays.
    auto more = specs(10000, 2000);
    more[1799].mac = first->mac;
    auto refused = store->add_hosts(more, HostState::enrolled, "imported");
    CHECK(refused.status().code() == Code::conflict);
    CHECK(refused.status().message().find(first->mac.str()) != std::string::npos);
    CHECK(*store->count_hosts(HostFilter{}) == 2501);
    CHECK(store->list_events(EventFilter{})->size() == 2501);

    // The count of all hosts (kept by triggers on PostgreSQL) follows removals, and agrees with
    // a filtered count and with a reopened store.
    REQUIRE(store->remove_host((*added)[7].id));
    CHECK(*store->count_hosts(HostFilter{}) == 2500);
    HostFilter enrolled;
    enrolled.state = HostState::enrolled;
    CHECK(*store->count_hosts(enrolled) == 2500);
    CHECK(*site.open()->count_hosts(HostFilter{}) == 2500);

    CHECK(store->add_hosts({}, HostState::enrolled, "nothing")->empty());
    CHECK(store->add_hosts(specs(20000, 1), HostState::ready, "x").status().code() ==
          Code::invalid_argument);
}
