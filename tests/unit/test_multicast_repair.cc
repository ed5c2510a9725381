// Repair selection and the sender/receiver engines end to end over a fake network that drops,
// corrupts or forges chosen datagrams, under a fake clock: deterministic, no sockets.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "multicast/rate_controller.h"
#include "multicast/receiver_engine.h"
#include "multicast/repair_queue.h"
#include "multicast/sender_engine.h"
#include "test_multicast_fakes.h"
#include "test_multicast_rig.h"

using namespace imaging;
using namespace imaging::multicast;
using namespace imaging::multicast::testing;
using namespace std::chrono_literals;

TEST_CASE("RepairQueue keeps the union, once, and skips what was re-sent since the POLL") {
    RepairQueue q(100);
    for (std::uint32_t g = 0; g < 50; ++g) q.note_sent(g, 1);  // first pass, round 1
    std::vector<Range> a{{5, 3}}, b{{6, 4}};
    CHECK(q.add(a, 2, 50) == 3);  // 5,6,7
    CHECK(q.add(b, 2, 50) == 2);  // 8,9 new; 6,7 already queued
    CHECK(q.size() == 5);
    CHECK(q.pop() == 5u);
    q.note_sent(5, 3);
    // A late NACK from round 2 for 5: it was re-sent in round 3, after that POLL.
    std::vector<Range> late{{5, 1}};
    CHECK(q.add(late, 2, 50) == 0);
    // ... but a NACK answering round 4 means that repair was lost too.
    CHECK(q.add(late, 4, 50) == 1);
    // Nothing at or beyond the limit (not sent yet: the first pass will get there).
    std::vector<Range> ahead{{45, 10}};
    CHECK(q.add(ahead, 4, 50) == 5);
    std::vector<std::uint32_t> order;
    while (auto g = q.pop()) order.push_back(*g);
    CHECK(order == std::vector<std::uint32_t>{6, 7, 8, 9, 45, 46, 47, 48, 49, 5});
}

TEST_CASE("RateController backs off on congestion, not on steady random loss") {
    FakeClock clock;
    RateConfig c;
    c.start_bps = 1e9;
    c.max_bps = 2e9;
    RateController r(c, clock.now());
    for (int i = 0; i < 20; ++i) {  // steady 10% loss: the baseline
        r.on_loss_report(0.10);
        r.end_round();
    }
    CHECK(r.backoffs() <= 1);
    // The one backoff did not lower the loss: found to be the path's, the rate restored.
    CHECK(r.random_loss_found() == 1);
    CHECK(r.steady_loss() == doctest::Approx(0.10));
    CHECK(r.rate_bps() > 1e9);
    double before = r.rate_bps();
    r.on_loss_report(0.40);  // congestion on top of it
    r.end_round();
    CHECK(r.rate_bps() < before);
    CHECK(r.backoffs() >= 1);
    for (int i = 0; i < 60; ++i) r.end_round();  // quiet: recovers to the ceiling
    CHECK(r.rate_bps() == doctest::Approx(2e9));

    SUBCASE("token bucket paces") {
        RateConfig slow;
        slow.start_bps = slow.max_bps = slow.min_bps = 8e6;  // 1 MB/s
        slow.burst_bytes = 1000;
        RateController p(slow, clock.now());
        CHECK(p.may_send(1000, clock.now()));
        p.consume(1000);
        CHECK_FALSE(p.may_send(1000, clock.now()));
        CHECK(p.wait_for(1000, clock.now()) == Duration(1ms));
        clock.advance(1ms);
        CHECK(p.may_send(1000, clock.now()));
    }
    SUBCASE("the bucket holds burst_seconds at the rate: a sender that wakes late catches up") {
        RateConfig fast;
        fast.start_bps = fast.max_bps = 10e9;  // 1.25 MB a millisecond
        fast.burst_bytes = 96000;
        fast.burst_seconds = 0.001;
        RateController p(fast, clock.now());
        p.consume(96000);
        clock.advance(500us);  // woke 500 us later: 625 KB were due, not only burst_bytes
        CHECK(p.may_send(600000, clock.now()));
        p.consume(600000);
        clock.advance(10ms);  // idle long: at most a millisecond's worth goes at once
        CHECK(p.may_send(1250000, clock.now()));
        CHECK_FALSE(p.may_send(1250001, clock.now()));
    }
}

TEST_CASE("RateController: slow start doubles until congestion, through random loss") {
    FakeClock clock;
    RateConfig c;
    c.start_bps = 1e9;
    c.max_bps = 10e9;
    RateController r(c, clock.now());
    CHECK(r.in_slow_start());
    for (int i = 0; i < 3; ++i) r.end_round();
    CHECK(r.rate_bps() == doctest::Approx(1e9 * c.slow_start * c.slow_start * c.slow_start));
    double before = r.rate_bps();
    r.on_nack();  // something was lost, no sample yet: this round holds the rate
    r.end_round();
    CHECK(r.in_slow_start());
    CHECK(r.rate_bps() == doctest::Approx(before));
    r.on_loss_report(0.01);  // within the margins: no congestion, still slow start
    r.end_round();
    CHECK(r.in_slow_start());
    CHECK(r.rate_bps() == doctest::Approx(std::min(10e9, before * c.slow_start)));

    SUBCASE("congestion ends it, and the rate grows by recover from then on") {
        RateController q(c, clock.now());
        q.end_round();  // 2 Gbit/s
        q.on_loss_report(0.40);
        q.end_round();
        CHECK_FALSE(q.in_slow_start());
        const double backed_off = q.rate_bps();
        CHECK(backed_off < 2e9);
        for (int i = 0; i < 2; ++i) {  // held: these describe the old rate
            q.on_loss_report(0.40);
            q.end_round();
        }
        q.on_loss_report(0.0);  // the loss followed the rate: it was congestion
        q.end_round();
        CHECK_FALSE(q.in_slow_start());
        CHECK(q.rate_bps() == doctest::Approx(backed_off * c.recover));
        for (int i = 0; i < 100; ++i) q.end_round();
        CHECK(q.rate_bps() == doctest::Approx(10e9));  // never past the ceiling
    }
    SUBCASE("steady random loss: the backoff is undone and slow start resumes") {
        RateController q(c, clock.now());
        q.on_loss_report(0.10);
        q.end_round();  // above the margins: backed off, slow start suspended
        CHECK_FALSE(q.in_slow_start());
        for (int i = 0; i < 3; ++i) {  // two held rounds, then the same loss at a lower rate
            q.on_loss_report(0.10);
            q.end_round();
        }
        CHECK(q.random_loss_found() == 1);
        CHECK(q.in_slow_start());
        CHECK(q.rate_bps() == doctest::Approx(1e9));  // restored
        q.on_loss_report(0.10);  // the path's own loss now: grows by slow_start
        q.end_round();
        CHECK(q.rate_bps() == doctest::Approx(1e9 * c.slow_start));
    }
}

TEST_CASE("no loss: every receiver completes and nothing is repaired") {
    Rig rig(3);
    REQUIRE(rig.run_until([&] { return rig.all_done(); }));
    CHECK(rig.sender->error().is_ok());
    CHECK(rig.sender->stats().repair_fragments == 0);
    CHECK(rig.sender->stats().receivers_completed == 3);
    for (auto& h : rig.hosts) rig.expect_complete(*h);
}

TEST_CASE("the sender repairs the union of the fragments receivers lose, each once") {
    Rig rig(3);
    FirstCopyRule rule;
    rule.fragments[0x0A000011] = {5, 17, 40};
    rule.fragments[0x0A000012] = {17, 30, 40};
    rig.net.drop = [&](const Endpoint&, const Endpoint& to, InDatagram& d) {
        return rule.matches(rig, to, d);
    };
    REQUIRE(rig.run_until([&] { return rig.all_done(); }));
    CHECK(rule.hit.size() == 6);
    // 5, 17, 30, 40 lost somewhere: at most four repairs (repair symbols of their blocks,
    // each serving both receivers' losses there), each sent once.
    CHECK(rig.sender->stats().repair_fragments + rig.sender->stats().parity_packets <= 4);
    for (auto& h : rig.hosts) rig.expect_complete(*h);
    CHECK(rig.hosts[2]->engine->stats().repairs_asked == 0);
    CHECK(rig.hosts[0]->engine->stats().repairs_asked +
              rig.hosts[1]->engine->stats().repairs_asked >=
          4);
}

TEST_CASE("single losses in one block, at different receivers, are repaired by one repair symbol") {
    Rig rig(4);
    FirstCopyRule rule;
    // Globals 2..5 lie in chunk 0's first parity block (global 0 is the manifest).
    for (std::uint32_t i = 0; i < 4; ++i) rule.fragments[0x0A000011 + i] = {2 + i};
    rig.net.drop = [&](const Endpoint&, const Endpoint& to, InDatagram& d) {
        return rule.matches(rig, to, d);
    };
    REQUIRE(rig.run_until([&] { return rig.all_done(); }));
    CHECK(rule.hit.size() == 4);
    CHECK(rig.sender->stats().parity_packets == 1);
    CHECK(rig.sender->stats().repair_fragments == 0);
    for (auto& h : rig.hosts) {
        rig.expect_complete(*h);
        CHECK(h->engine->stats().parity_recovered == 1);
    }
}

TEST_CASE("a corrupted PARITY is caught by chunk verification and the loss repaired again") {
    Rig rig(1);
    FirstCopyRule lose, corrupt;
    lose.fragments[0x0A000011] = {3};
    bool corrupted = false;
    rig.net.drop = [&](const Endpoint&, const Endpoint& to, InDatagram& d) {
        Decoded p = decode(d.view());
        if (p.ok() && std::holds_alternative<Data>(p.packet) && std::get<Data>(p.packet).parity &&
            !corrupted) {
            corrupted = true;
            d.bytes[kDataHeaderSize + 10] ^= 0x01;
            return false;
        }
        return lose.matches(rig, to, d);
    };
    REQUIRE(rig.run_until([&] { return rig.all_done(); }));
    CHECK(corrupted);
    CHECK(rig.hosts[0]->engine->stats().chunks_failed == 1);
    rig.expect_complete(*rig.hosts[0]);
}

TEST_CASE("NACKs are suppressed when another receiver already asked") {
    Rig rig(6);
    FirstCopyRule rule;
    for (std::uint32_t a = 0x0A000011; a <= 0x0A000016; ++a) rule.fragments[a] = {10, 11, 12};
    rig.net.drop = [&](const Endpoint&, const Endpoint& to, InDatagram& d) {
        return rule.matches(rig, to, d);
    };
    REQUIRE(rig.run_until([&] { return rig.all_done(); }));
    std::uint64_t sent = 0, suppressed = 0;
    for (auto& h : rig.hosts) {
        rig.expect_complete(*h);
        sent += h->engine->stats().nacks_sent;
        suppressed += h->engine->stats().nacks_suppressed;
    }
    // The same three losses of one block everywhere: three repair symbols serve all six.
    CHECK(rig.sender->stats().repair_fragments + rig.sender->stats().parity_packets == 3);
    INFO("NACKs sent ", sent, ", suppressed ", suppressed);
    CHECK(sent <= 2);
    CHECK(suppressed >= 4);
}

TEST_CASE(
    "a corrupted fragment fails chunk verification, is never written, and is received again") {
    Rig rig(2);
    FirstCopyRule rule;
    rule.fragments[0x0A000011] = {12};
    rig.net.drop = [&](const Endpoint&, const Endpoint& to, InDatagram& d) {
        if (rule.matches(rig, to, d)) d.bytes[kDataHeaderSize + 3] ^= 0xFF;
        return false;
    };
    REQUIRE(rig.run_until([&] { return rig.all_done(); }));
    CHECK(rig.hosts[0]->engine->stats().chunks_failed == 1);
    CHECK(rig.hosts[1]->engine->stats().chunks_failed == 0);
    for (auto& h : rig.hosts) rig.expect_complete(*h);
}

TEST_CASE("a corrupted manifest fragment is rejected and asked for again") {
    Rig rig(1);
    FirstCopyRule rule;
    rule.fragments[0x0A000011] = {0};
    rig.net.drop = [&](const Endpoint&, const Endpoint& to, InDatagram& d) {
        if (rule.matches(rig, to, d)) d.bytes[kDataHeaderSize] ^= 0xFF;
        return false;
    };
    REQUIRE(rig.run_until([&] { return rig.all_done(); }));
    rig.expect_complete(*rig.hosts[0]);
}

TEST_CASE("chunk data heard before the manifest completes is kept, not asked for again") {
    Rig rig(1);
    FirstCopyRule rule;
    rule.fragments[0x0A000011] = {0};  // the manifest's only fragment
    rig.net.drop = [&](const Endpoint&, const Endpoint& to, InDatagram& d) {
        return rule.matches(rig, to, d);
    };
    REQUIRE(rig.run_until([&] { return rig.all_done(); }));
    rig.expect_complete(*rig.hosts[0]);
    CHECK(rig.hosts[0]->engine->stats().repairs_asked == 1);
    CHECK(rig.sender->stats().repair_fragments == 1);
}

TEST_CASE("forged datagrams from a stranger are rejected and change nothing") {
    Rig rig(2);
    FakePort& stranger = rig.net.add_port(0x0A0000FE);
    auto forge = [&] {
        auto end = encode(End{77, EndReason::kAborted});
        auto poll = encode(Poll{77, 1000, 5, 1});
        std::vector<std::uint8_t> junk(40, 0xAB);
        std::vector<std::uint8_t> payload(1000, 0x11);
        std::array<std::uint8_t, kDataHeaderSize> header;
        encode_data_header(Data{77, 1, 0, 5000, payload}, header);
        auto other_session = encode(Data{78, 1, 0, 5000, payload});
        std::vector<OutDatagram> out{{FakeNetwork::kGroup, end, {}},
                                     {FakeNetwork::kGroup, poll, {}},
                                     {FakeNetwork::kGroup, junk, {}},
                                     {FakeNetwork::kGroup, header, payload},
                                     {FakeNetwork::kGroup, other_session, {}}};
        (void)stranger.send(out);
    };
    rig.run_until([&] { return rig.sender->stats().data_fragments > 20; });
    forge();
    REQUIRE(rig.run_until([&] { return rig.all_done(); }));
    for (auto& h : rig.hosts) {
        rig.expect_complete(*h);
        CHECK(h->engine->stats().rejected >= 4);
    }
}

TEST_CASE("a late joiner completes; the sender waits for it") {
    SenderConfig c = Rig::default_config(2);
    c.rate.start_bps = c.rate.max_bps = 20e6;
    c.linger = 300ms;  // the first two may finish before the late one hears an ANNOUNCE
    Rig rig(2, c);
    REQUIRE(rig.run_until([&] { return rig.sender->stats().data_fragments > 60; }));
    Host& late = rig.add_receiver();
    REQUIRE(rig.run_until([&] { return rig.all_done(); }));
    CHECK(rig.sender->stats().receivers_completed == 3);
    for (auto& h : rig.hosts) rig.expect_complete(*h);
    CHECK(late.engine->stats().repairs_asked >= 60);
}

TEST_CASE("a dead receiver is dropped and does not stall the others") {
    Rig rig(3);
    REQUIRE(rig.run_until([&] { return rig.sender->stats().data_fragments > 20; }));
    rig.hosts[2]->port->connected = false;
    TimePoint dead_at = rig.clock.now();
    REQUIRE(rig.run_until([&] { return rig.all_done(); }));
    CHECK(rig.sender->error().is_ok());
    CHECK(rig.sender->stats().receivers_dropped == 1);
    CHECK(rig.sender->stats().receivers_completed == 2);
    CHECK(rig.clock.now() - dead_at < 2s);
    rig.expect_complete(*rig.hosts[0]);
    rig.expect_complete(*rig.hosts[1]);
}

TEST_CASE("receivers fail with a clear error when the sender goes silent") {
    Rig rig(2);
    REQUIRE(rig.run_until([&] { return rig.sender->stats().data_fragments > 20; }));
    rig.sender_alive = false;
    TimePoint silent_at = rig.clock.now();
    REQUIRE(rig.run_until([&] { return rig.all_done(); }));
    for (auto& h : rig.hosts) {
        CHECK_FALSE(h->engine->complete());
        CHECK(h->engine->error().message().find("silent") != std::string::npos);
        CHECK_FALSE(h->sink.finished);
    }
    CHECK(rig.clock.now() - silent_at <= 1100ms);
}

TEST_CASE("an aborted session ends receivers at once with an error") {
    Rig rig(1);
    REQUIRE(rig.run_until([&] { return rig.sender->stats().data_fragments > 20; }));
    rig.sender->abort();
    rig.sender_alive = false;
    REQUIRE(rig.run_until([&] { return rig.all_done(); }, 50ms));
    CHECK(rig.hosts[0]->engine->error().message().find("aborted") != std::string::npos);
}
