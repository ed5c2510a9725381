// A sender and its receivers on a FakeNetwork under a FakeClock, stepped 100 us at a time, and
// a drop rule for the first copy of chosen fragments: the rig of the engine-level tests.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>

#include "multicast/receiver_engine.h"
#include "multicast/sender_engine.h"
#include "test_multicast_fakes.h"

namespace imaging::multicast::testing {

using namespace std::chrono_literals;

struct Host {
    FakePort* port;
    MemorySink sink;
    std::unique_ptr<ReceiverEngine> engine;
};

// One sender and its receivers on a FakeNetwork, stepped 100 us at a time.
struct Rig {
    FakeClock clock;
    FakeNetwork net;
    MemoryImage image;
    FakePort& server = net.add_port(0x0A000001);
    std::unique_ptr<SenderEngine> sender;
    std::vector<std::unique_ptr<Host>> hosts;
    bool sender_alive = true;

    explicit Rig(unsigned receivers, SenderConfig config = default_config(0),
                 std::uint32_t chunks = 6)
        : image(chunks, 65536) {
        if (config.min_receivers == 0) config.min_receivers = receivers;
        sender = std::make_unique<SenderEngine>(config, image.objects(), server, clock);
        for (unsigned i = 0; i < receivers; ++i) add_receiver();
    }
    static SenderConfig default_config(unsigned min_receivers) {
        SenderConfig c;
        c.session = 77;
        c.fragment_payload = 1000;
        c.min_receivers = min_receivers;
        c.max_wait = 1s;
        c.receiver_timeout = 500ms;
        c.rate.start_bps = c.rate.max_bps = 200e6;
        return c;
    }
    Host& add_receiver() {
        auto h = std::make_unique<Host>();
        auto id = std::uint32_t(hosts.size() + 1);
        h->port = &net.add_port(0x0A000010 + id);
        ReceiverConfig rc;
        rc.receiver_id = id;
        rc.seed = id;
        rc.silence_timeout = 1s;
        h->engine = std::make_unique<ReceiverEngine>(rc, *h->port, clock, image.check(), h->sink);
        hosts.push_back(std::move(h));
        return *hosts.back();
    }
    void step() {
        std::vector<InDatagram> in(64);
        if (sender_alive) {
            (void)sender->tick();
            while (auto n = server.receive(in, {}).value())
                for (std::size_t i = 0; i < n; ++i) sender->on_datagram(in[i]);
        }
        for (auto& h : hosts) {
            if (!h->port->connected) continue;
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
        if (sender_alive && !sender->finished()) return false;
        for (auto& h : hosts)
            if (h->port->connected && !h->engine->finished()) return false;
        return true;
    }
    // The global fragment number of a DATA datagram, or nothing for other kinds.
    std::optional<std::uint32_t> data_fragment(const InDatagram& d) const {
        Decoded p = decode(d.view());
        if (!p.ok() || !std::holds_alternative<Data>(p.packet)) return std::nullopt;
        const Data& data = std::get<Data>(p.packet);
        return sender->layout().first(data.object) + data.fragment;
    }
    void expect_complete(Host& h) {
        CHECK(h.engine->complete());
        CHECK(h.engine->error().is_ok());
        CHECK(h.sink.finished);
        CHECK(h.sink.image == image.raw);
    }
};

// Drops (or alters) the first copy of chosen fragments to chosen receivers.
struct FirstCopyRule {
    std::map<std::uint32_t, std::set<std::uint32_t>> fragments;  // receiver address -> globals
    std::set<std::pair<std::uint32_t, std::uint32_t>> hit;
    bool matches(const Rig& rig, const Endpoint& to, const InDatagram& d) {
        auto g = rig.data_fragment(d);
        if (!g) return false;
        auto it = fragments.find(to.address);
        if (it == fragments.end() || !it->second.count(*g)) return false;
        return hit.insert({to.address, *g}).second;
    }
};

}  // namespace imaging::multicast::testing
