// Repair and rate logic end to end over the fake network: independent random loss at many
// receivers (repaired by erasure-code symbols, proactive once the loss is steady), congestion
// (a bottleneck that drops what exceeds its rate), and a receiver that falls far behind.
#include <doctest/doctest.h>

#include <random>

#include "test_multicast_rig.h"

using namespace imaging;
using namespace imaging::multicast;
using namespace imaging::multicast::testing;

namespace {

bool is_data(const InDatagram& d) {
    Decoded p = decode(d.view());
    return p.ok() && std::holds_alternative<Data>(p.packet);
}

}  // namespace

TEST_CASE(
    "independent 5% loss at 8 receivers: repair symbols, proactive once steady, little extra") {
    SenderConfig c = Rig::default_config(0);
    c.rate.start_bps = c.rate.max_bps = 60e6;
    Rig rig(8, c, 300);
    std::mt19937 rng(5);
    rig.net.drop = [&](const Endpoint& from, const Endpoint&, InDatagram& d) {
        return from.address == 0x0A000001 && is_data(d) && rng() % 100 < 5;
    };
    REQUIRE(rig.run_until([&] { return rig.all_done(); }, 30s));
    for (auto& h : rig.hosts) rig.expect_complete(*h);
    const SenderStats& s = rig.sender->stats();
    double extra = double(s.repair_fragments + s.parity_packets) / double(s.data_fragments);
    INFO("data ", s.data_fragments, ", repairs ", s.repair_fragments, ", symbols ",
         s.parity_packets, " (proactive ", s.proactive_parity, ")");
    // Plain repairs of the union would cost 1 - 0.95^8 = 34% more; one symbol per block serves
    // every receiver's single loss there.
    MESSAGE("8 receivers, 5% loss each: ", s.data_fragments, " fragments, ", s.repair_fragments,
            " plain repairs, ", s.parity_packets, " repair symbols (", s.proactive_parity,
            " proactive): ", extra * 100, "% extra");
    CHECK(extra < 0.20);
    CHECK(s.proactive_parity > 0);
    std::uint64_t recovered = 0;
    for (auto& h : rig.hosts) recovered += h->engine->stats().parity_recovered;
    CHECK(recovered > s.parity_packets);  // a symbol rebuilt losses at several receivers
}

TEST_CASE("no loss, no proactive symbols") {
    SenderConfig c = Rig::default_config(0);
    c.rate.start_bps = c.rate.max_bps = 60e6;
    Rig rig(2, c, 160);
    REQUIRE(rig.run_until([&] { return rig.all_done(); }, 30s));
    CHECK(rig.sender->stats().parity_packets == 0);
    CHECK(rig.sender->stats().repair_fragments == 0);
}

TEST_CASE("congestion: loss that grows with the rate backs the rate off to the bottleneck") {
    SenderConfig c = Rig::default_config(0);
    c.rate.start_bps = 120e6;
    c.rate.max_bps = 400e6;
    Rig rig(1, c, 300);
    // A 30 Mbit/s bottleneck with a 256 KB queue in front of the receiver (deeper than the
    // sender's bursts: a shallower one loses part of every burst at any rate, which is loss
    // that does not follow the rate).
    const double capacity = 30e6 / 8;
    double queue = 0;
    TimePoint last = rig.clock.now();
    rig.net.drop = [&](const Endpoint& from, const Endpoint&, InDatagram& d) {
        if (from.address != 0x0A000001) return false;
        double seconds = std::chrono::duration<double>(rig.clock.now() - last).count();
        last = rig.clock.now();
        queue = std::max(0.0, queue - seconds * capacity);
        if (queue + double(d.length) > 262144) return true;
        queue += double(d.length);
        return false;
    };
    REQUIRE(rig.run_until([&] { return rig.sender->stats().data_fragments > 3000; }, 30s));
    // Mid-transfer the rate sits near the bottleneck, not at its start or its ceiling.
    CHECK(rig.sender->stats().final_rate_bps < 75e6);
    REQUIRE(rig.run_until([&] { return rig.all_done(); }, 30s));
    rig.expect_complete(*rig.hosts[0]);
    const SenderStats& s = rig.sender->stats();
    INFO("data ", s.data_fragments, ", repairs ", s.repair_fragments, ", symbols ",
         s.parity_packets);
    // Congestion is not steady loss: no proactive symbols, and repairs a fraction of the data.
    CHECK(s.proactive_parity == 0);
    CHECK(double(s.repair_fragments + s.parity_packets) < 0.5 * double(s.data_fragments));
}

TEST_CASE("a receiver that falls far behind catches up by plain ranges; the others are not held") {
    SenderConfig c = Rig::default_config(0);
    c.rate.start_bps = c.rate.max_bps = 60e6;
    c.receiver_timeout = 2s;
    Rig rig(3, c, 300);
    // Host 3's socket drops everything but control for a long stretch (its buffer overflowed).
    bool deaf = false;
    rig.net.drop = [&](const Endpoint& from, const Endpoint& to, InDatagram& d) {
        return deaf && to.address == 0x0A000013 && from.address == 0x0A000001 && is_data(d);
    };
    REQUIRE(rig.run_until([&] { return rig.sender->stats().data_fragments > 200; }));
    deaf = true;
    REQUIRE(rig.run_until([&] { return rig.sender->stats().data_fragments > 3000; }));
    deaf = false;
    REQUIRE(rig.run_until([&] { return rig.all_done(); }, 30s));
    for (auto& h : rig.hosts) rig.expect_complete(*h);
    CHECK(rig.hosts[2]->engine->stats().repairs_asked >= 2800);
    CHECK(rig.hosts[0]->engine->stats().repairs_asked == 0);
    // Whole blocks lost come back as plain fragments, not as repair symbols.
    CHECK(rig.sender->stats().repair_fragments >= 2700);
    CHECK(rig.sender->stats().parity_packets < 300);
}
