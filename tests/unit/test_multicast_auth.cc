// Multicast control datagrams under a secret (PROTOCOL.md, "Authentication"): the tag framing,
// and forged or replayed NACKs and STATUS that change nothing in the SenderEngine while the
// real receivers complete. Deterministic: FakeNetwork and FakeClock.
#include <doctest/doctest.h>

#include "multicast/control_auth.h"
#include "multicast/receiver_engine.h"
#include "multicast/sender_engine.h"
#include "test_multicast_fakes.h"

using namespace imaging;
using namespace imaging::multicast;
using namespace imaging::multicast::testing;
using namespace std::chrono_literals;

namespace {

const Secret kSecret = [] {
    Secret s{};
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = std::uint8_t(i * 7 + 1);
    return s;
}();
const Secret kOther = [] {
    Secret s = kSecret;
    s[0] ^= 1;
    return s;
}();

struct AuthHost {
    FakePort* port;
    MemorySink sink;
    std::unique_ptr<ReceiverEngine> engine;
};

// One sender and its receivers, all holding `secret`, stepped 100 us at a time.
struct AuthRig {
    FakeClock clock;
    FakeNetwork net;
    MemoryImage image{6, 65536};
    FakePort& server = net.add_port(0x0A000001);
    std::unique_ptr<SenderEngine> sender;
    std::vector<std::unique_ptr<AuthHost>> hosts;
    std::function<void()> each_step;

    AuthRig(unsigned receivers, std::optional<Secret> secret,
            std::optional<Secret> receiver_secret) {
        SenderConfig c;
        c.session = 77;
        c.fragment_payload = 1000;
        c.min_receivers = receivers;
        c.max_wait = 1s;
        c.receiver_timeout = 500ms;
        c.rate.start_bps = c.rate.max_bps = 200e6;
        c.secret = secret;
        sender = std::make_unique<SenderEngine>(c, image.objects(), server, clock);
        for (unsigned i = 0; i < receivers; ++i) {
            auto h = std::make_unique<AuthHost>();
            auto id = std::uint32_t(i + 1);
            h->port = &net.add_port(0x0A000010 + id);
            ReceiverConfig rc;
            rc.receiver_id = id;
            rc.seed = id;
            rc.silence_timeout = 1s;
            rc.secret = receiver_secret;
            h->engine = std::make_unique<ReceiverEngine>(rc, *h->port, clock, image.check(), h->sink);
            hosts.push_back(std::move(h));
        }
    }
    void step() {
        if (each_step) each_step();
        std::vector<InDatagram> in(64);
        (void)sender->tick();
        while (auto n = server.receive(in, {}).value())
            for (std::size_t i = 0; i < n; ++i) sender->on_datagram(in[i]);
        for (auto& h : hosts) {
            while (auto n = h->port->receive(in, {}).value())
                for (std::size_t i = 0; i < n; ++i) h->engine->on_datagram(in[i]);
            h->engine->tick();
        }
        clock.advance(100us);
    }
    bool run_until(const std::function<bool()>& done, Duration limit = 10s) {
        for (Duration t{}; t < limit; t += 100us) {
            if (done()) return true;
            step();
        }
        return done();
    }
    bool all_done() {
        if (!sender->finished()) return false;
        for (auto& h : hosts)
            if (!h->engine->finished()) return false;
        return true;
    }
    void expect_complete() {
        for (auto& h : hosts) {
            CHECK(h->engine->complete());
            CHECK(h->engine->error().is_ok());
            CHECK(h->sink.image == image.raw);
        }
    }
};

// Every few steps, a stranger sends the sender (and the group) NACKs claiming heavy loss of
// everything, STATUS(receiving) for receivers that do not exist, and END(aborted): untagged,
// tagged under another secret, or a genuine tagged datagram replayed.
struct Forger {
    AuthRig& rig;
    FakePort& port;
    std::optional<Secret> tag_with;
    std::vector<std::vector<std::uint8_t>> replays;
    unsigned steps = 0;
    std::uint32_t round = 1;

    Forger(AuthRig& r, std::optional<Secret> secret)
        : rig(r), port(r.net.add_port(0x0A0000FE)), tag_with(secret) {}
    void operator()() {
        if (++steps % 10) return;
        std::vector<std::vector<std::uint8_t>> out;
        Nack n{77, 1, round++, 900, {{0, 4000}}, {}};  // receiver 1's id, 90% loss, everything
        out.push_back(encode(n));
        n.receiver = 0xBAD;
        out.push_back(encode(n));
        out.push_back(encode(StatusReport{77, 0xBAD, ReceiverState::kReceiving, 9999}));
        out.push_back(encode(StatusReport{77, 1, ReceiverState::kReceiving, 9999}));
        out.push_back(encode(End{77, EndReason::kAborted}));
        if (tag_with) {
            ControlAuth auth(*tag_with);
            for (auto& d : out) auth.seal(d);
        }
        for (auto& d : replays) out.push_back(d);
        for (auto& d : out) {
            OutDatagram to_sender{rig.server.self(), d, {}};
            OutDatagram to_group{FakeNetwork::kGroup, d, {}};
            (void)port.send(std::span<const OutDatagram>(&to_sender, 1));
            (void)port.send(std::span<const OutDatagram>(&to_group, 1));
        }
    }
};

}  // namespace

TEST_CASE("control tags: sealed datagrams open under the secret only, intact and fresh") {
    ControlAuth a(kSecret), b(kSecret), other(kOther);
    auto plain = encode(Nack{77, 5, 3, 10, {{1, 2}}, {{64, 1}}});
    auto sealed = plain;
    a.seal(sealed);
    REQUIRE(sealed.size() == plain.size() + kAuthTrailerSize);
    auto opened = b.open(sealed);
    REQUIRE(opened);
    CHECK(std::equal(opened->datagram.begin(), opened->datagram.end(), plain.begin(), plain.end()));
    CHECK(opened->counter == 1);
    CHECK(decode(opened->datagram).ok());

    CHECK_FALSE(other.open(sealed));  // another secret
    CHECK_FALSE(b.open(plain));       // no tag
    for (std::size_t i : {std::size_t(8), std::size_t(13), sealed.size() - 20, sealed.size() - 1}) {
        auto bent = sealed;
        bent[i] ^= 0x40;  // the session id, a body byte, the counter, the tag
        CHECK_FALSE(b.open(bent));
    }
    // The counter rises per datagram; a receiver keeps the highest per origin.
    auto second = plain;
    a.seal(second);
    CHECK(b.open(second)->counter == 2);
    CHECK(b.fresh(5, 1));
    CHECK(b.fresh(5, 2));
    CHECK_FALSE(b.fresh(5, 2));  // replayed
    CHECK_FALSE(b.fresh(5, 1));  // older
    CHECK(b.fresh(6, 1));        // another origin has its own
    CHECK(is_control(plain));
    CHECK_FALSE(is_control(encode(Data{77, 1, 0, 10, std::vector<std::uint8_t>(10)})));
}

TEST_CASE("an authenticated session completes; DATA stays untagged") {
    AuthRig rig(3, kSecret, kSecret);
    REQUIRE(rig.run_until([&] { return rig.all_done(); }));
    CHECK(rig.sender->error().is_ok());
    rig.expect_complete();
    CHECK(rig.sender->stats().receivers_completed == 3);
    CHECK(rig.sender->stats().unauthenticated == 0);
}

TEST_CASE("forged NACKs and STATUS change nothing in the sender; the real receivers complete") {
    // The same session twice, deterministic: once quiet, once under forgery. The sender must
    // behave identically: same repairs, same rate, same rounds, no phantom receiver.
    AuthRig quiet(2, kSecret, kSecret);
    REQUIRE(quiet.run_until([&] { return quiet.all_done(); }));

    std::optional<Secret> forger_secret;
    std::string how;
    SUBCASE("untagged") { how = "untagged"; }
    SUBCASE("tagged under another secret") {
        how = "wrong secret";
        forger_secret = kOther;
    }
    CAPTURE(how);
    AuthRig rig(2, kSecret, kSecret);
    Forger forger(rig, forger_secret);
    rig.each_step = [&] { forger(); };
    REQUIRE(rig.run_until([&] { return rig.all_done(); }));
    CHECK(rig.sender->error().is_ok());
    rig.expect_complete();
    const SenderStats& a = quiet.sender->stats();
    const SenderStats& b = rig.sender->stats();
    CHECK(b.receivers_joined == 2);
    CHECK(b.receivers_completed == 2);
    CHECK(b.nacks_received == a.nacks_received);
    CHECK(b.repair_fragments == a.repair_fragments);
    CHECK(b.data_fragments == a.data_fragments);
    CHECK(b.rounds == a.rounds);
    CHECK(b.final_rate_bps == a.final_rate_bps);
    CHECK(b.unauthenticated > 0);
    CHECK(b.rejected >= b.unauthenticated);
    for (auto& h : rig.hosts) CHECK(h->engine->stats().unauthenticated > 0);  // the forged END and NACKs
}

TEST_CASE("a genuine NACK or STATUS replayed is dropped as stale") {
    AuthRig rig(2, kSecret, kSecret);
    Forger forger(rig, std::nullopt);
    bool captured = false;
    // Record receiver 1's first tagged NACK and STATUS as they cross the network.
    rig.net.drop = [&](const Endpoint& from, const Endpoint&, InDatagram& d) {
        if (from.address == 0x0A000011 && forger.replays.size() < 4) {
            forger.replays.emplace_back(d.view().begin(), d.view().end());
            captured = true;
        }
        return false;
    };
    rig.each_step = [&] {
        if (captured) forger();
    };
    REQUIRE(rig.run_until([&] { return rig.all_done(); }));
    rig.expect_complete();
    CHECK(rig.sender->stats().receivers_joined == 2);
    CHECK(rig.sender->stats().unauthenticated > 0);
}

TEST_CASE("a receiver without the secret does not join; one with a secret refuses an open sender") {
    SUBCASE("receiver without the secret") {
        AuthRig rig(1, kSecret, std::nullopt);
        rig.run_until([&] { return rig.hosts[0]->engine->finished(); }, 3s);
        CHECK_FALSE(rig.hosts[0]->engine->complete());
        CHECK(rig.sender->stats().receivers_joined == 0);
        CHECK(rig.hosts[0]->engine->stats().rejected > 0);
    }
    SUBCASE("sender without a secret") {
        AuthRig rig(1, std::nullopt, kSecret);
        rig.run_until([&] { return rig.hosts[0]->engine->finished(); }, 3s);
        CHECK_FALSE(rig.hosts[0]->engine->complete());
        CHECK(rig.sender->stats().receivers_joined == 0);
        CHECK(rig.hosts[0]->engine->stats().unauthenticated > 0);
    }
}
