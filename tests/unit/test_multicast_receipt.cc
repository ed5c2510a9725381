// Proof of receipt in a multicast session (multicast/PROTOCOL.md, "Proof of receipt"): each
// receiver proves, with the key of its receiver id, that it verified the whole image; the
// sender records it and acknowledges, and counts the receiver done only then. A receiver with
// another id's key, or a receipt for another image, is never recorded. Deterministic:
// FakeNetwork and FakeClock.
#include <doctest/doctest.h>

#include <map>

#include "imaging/delivery.h"
#include "multicast/control_auth.h"
#include "multicast/receipt.h"
#include "multicast/receiver_engine.h"
#include "multicast/sender_engine.h"
#include "test_multicast_fakes.h"

using namespace imaging;
using namespace imaging::multicast;
using namespace imaging::multicast::testing;
using namespace std::chrono_literals;

namespace {

Secret secret_of(std::uint8_t seed) {
    Secret s{};
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = std::uint8_t(i * 13 + seed);
    return s;
}

const Secret kSession = secret_of(1);
const Secret kReceipts = secret_of(2);

struct ReceiptHost {
    FakePort* port;
    MemorySink sink;
    std::unique_ptr<ReceiverEngine> engine;
};

// One sender with a receipt secret; receiver i + 1 is "5/<i + 1>" with the key `keys` gives it.
struct ReceiptRig {
    FakeClock clock;
    FakeNetwork net;
    MemoryImage image{6, 65536};
    FakePort& server = net.add_port(0x0A000001);
    std::unique_ptr<SenderEngine> sender;
    std::vector<std::unique_ptr<ReceiptHost>> hosts;
    std::map<std::string, int> recorded;  // receiver id -> times on_receipt was called
    bool refuse_records = false;

    ReceiptRig(unsigned receivers, const std::function<Secret(const std::string&)>& keys) {
        SenderConfig c;
        c.session = 91;
        c.fragment_payload = 1000;
        c.min_receivers = receivers;
        c.max_wait = 1s;
        c.receiver_timeout = 500ms;
        c.rate.start_bps = c.rate.max_bps = 200e6;
        c.secret = kSession;
        c.receipt_secret = kReceipts;
        c.image_sha256 = image.manifest.image_sha256;
        c.on_receipt = [this](const std::string& id, const Endpoint&) {
            if (refuse_records) return Status::error("disk full");
            ++recorded[id];
            return Status::ok();
        };
        sender = std::make_unique<SenderEngine>(c, image.objects(), server, clock);
        for (unsigned i = 0; i < receivers; ++i) {
            auto h = std::make_unique<ReceiptHost>();
            auto id = std::uint32_t(i + 1);
            h->port = &net.add_port(0x0A000010 + id);
            ReceiverConfig rc;
            rc.receiver_id = id;
            rc.seed = id;
            rc.silence_timeout = 1s;
            rc.secret = kSession;
            rc.receipt_id = "5/" + std::to_string(id);
            rc.receipt_key = keys(rc.receipt_id);
            rc.receipt_wait = 1s;
            h->engine = std::make_unique<ReceiverEngine>(rc, *h->port, clock, image.check(), h->sink);
            hosts.push_back(std::move(h));
        }
    }
    void step() {
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
    bool receivers_finished() {
        for (auto& h : hosts)
            if (!h->engine->finished()) return false;
        return true;
    }
};

Secret honest_key(const std::string& id) { return receiver_key(kReceipts, id); }

}  // namespace

TEST_CASE("multicast RECEIPT and RECEIPT_ACK: encoded and decoded, bounded") {
    Receipt r;
    r.session = 9;
    r.receiver = 3;
    r.image_sha256.fill(0xAB);
    r.id = "12/7";
    r.proof.fill(0xCD);
    auto bytes = encode(r);
    CHECK(bytes.size() == kCommonHeaderSize + 4 + 32 + 1 + 4 + 32);
    Decoded d = decode(bytes);
    REQUIRE(d.ok());
    auto* back = std::get_if<Receipt>(&d.packet);
    REQUIRE(back);
    CHECK(back->id == "12/7");
    CHECK(back->proof == r.proof);
    CHECK(origin_of(d.packet) == 3);
    bytes.pop_back();
    CHECK(decode(bytes).error == DecodeError::kBadLength);
    r.id.assign(kMaxReceiptId + 1, 'x');
    CHECK(decode(encode(r)).error == DecodeError::kBadLength);
    r.id.clear();
    CHECK(decode(encode(r)).error == DecodeError::kBadLength);
    Decoded ack = decode(encode(ReceiptAck{9, 3}));
    REQUIRE(ack.ok());
    CHECK(std::get<ReceiptAck>(ack.packet).receiver == 3);
    // Both are control: tagged under a secret.
    auto sealed = encode(ReceiptAck{9, 3});
    ControlAuth(kSession).seal(sealed);
    CHECK(ControlAuth(kSession).open(sealed));
    CHECK(is_control(encode(r)));
}

TEST_CASE("every receiver's receipt is recorded once and acknowledged; the sender ends after") {
    ReceiptRig rig(3, honest_key);
    REQUIRE(rig.run_until([&] { return rig.sender->finished() && rig.receivers_finished(); }));
    CHECK(rig.sender->error().is_ok());
    CHECK(rig.sender->stats().receipts == 3);
    CHECK(rig.sender->stats().receivers_completed == 3);
    for (auto& h : rig.hosts) {
        CHECK(h->engine->complete());
        CHECK(h->engine->stats().delivery_confirmed);
        CHECK(h->sink.image == rig.image.raw);
    }
    CHECK(rig.recorded == std::map<std::string, int>{{"5/1", 1}, {"5/2", 1}, {"5/3", 1}});
}

TEST_CASE("a receiver holding another id's key is never recorded nor counted done") {
    // Receiver 2 says it is 5/2 but holds 5/1's key (as a host holding another host's job would).
    ReceiptRig rig(2, [](const std::string& id) { return honest_key(id == "5/2" ? "5/1" : id); });
    REQUIRE(rig.run_until([&] { return rig.receivers_finished(); }));
    CHECK(rig.hosts[0]->engine->stats().delivery_confirmed);
    CHECK(rig.hosts[1]->engine->complete());  // it has the image...
    CHECK_FALSE(rig.hosts[1]->engine->stats().delivery_confirmed);  // ...but proved nothing
    CHECK(rig.recorded == std::map<std::string, int>{{"5/1", 1}});
    CHECK(rig.sender->stats().receivers_completed == 1);
    CHECK(rig.sender->stats().rejected > 0);
}

TEST_CASE("a receipt for another image, or forged by a stranger with the session's secret, is refused") {
    ReceiptRig rig(1, honest_key);
    FakePort& stranger = rig.net.add_port(0x0A0000FE);
    ControlAuth auth(kSession);  // every host of the deployment holds the session's secret
    auto send = [&](Receipt r) {
        auto bytes = encode(r);
        auth.seal(bytes);
        OutDatagram d{rig.server.self(), bytes, {}};
        (void)stranger.send(std::span<const OutDatagram>(&d, 1));
    };
    Receipt forged;
    forged.session = 91;
    forged.receiver = 0x77;
    forged.id = "5/9";
    forged.image_sha256 = rig.image.manifest.image_sha256;
    // Without 5/9's key: a key derived from the session's secret instead.
    forged.proof = receipt_proof(receiver_key(kSession, "5/9"), 91, 0x77, forged.image_sha256, "5/9");
    send(forged);
    // With the right key, for another image.
    Receipt other = forged;
    other.id = "5/8";
    other.image_sha256.fill(1);
    other.proof = receipt_proof(honest_key("5/8"), 91, 0x77, other.image_sha256, "5/8");
    send(other);
    REQUIRE(rig.run_until([&] { return rig.sender->finished() && rig.receivers_finished(); }));
    CHECK(rig.recorded == std::map<std::string, int>{{"5/1", 1}});
    CHECK(rig.sender->stats().receipts == 1);
}

TEST_CASE("a receipt the sender cannot record is not acknowledged; it is asked again and recorded") {
    ReceiptRig rig(1, honest_key);
    rig.refuse_records = true;
    REQUIRE(rig.run_until([&] { return rig.hosts[0]->engine->complete(); }));
    rig.run_until([] { return false; }, 50ms);
    CHECK(rig.recorded.empty());
    CHECK_FALSE(rig.hosts[0]->engine->stats().delivery_confirmed);
    CHECK_FALSE(rig.sender->finished());  // not done without its receipt
    rig.refuse_records = false;
    REQUIRE(rig.run_until([&] { return rig.sender->finished() && rig.receivers_finished(); }));
    CHECK(rig.hosts[0]->engine->stats().delivery_confirmed);
    CHECK(rig.recorded == std::map<std::string, int>{{"5/1", 1}});
}

TEST_CASE("lost acknowledgements: the receipt is sent again until one arrives") {
    ReceiptRig rig(1, honest_key);
    int acks_dropped = 0;
    // The END is lost too, so the receiver has only acknowledgements to go by (the rig's sender
    // still hears it after its session ended).
    rig.net.drop = [&](const Endpoint&, const Endpoint&, InDatagram& d) {
        auto bytes = d.view();
        if (bytes.size() <= 5) return false;
        if (PacketType(bytes[5]) == PacketType::kEnd) return true;
        if (PacketType(bytes[5]) == PacketType::kReceiptAck && acks_dropped < 3) {
            ++acks_dropped;
            return true;
        }
        return false;
    };
    REQUIRE(rig.run_until([&] { return rig.receivers_finished(); }));
    CHECK(acks_dropped == 3);
    CHECK(rig.hosts[0]->engine->stats().delivery_confirmed);
    CHECK(rig.recorded == std::map<std::string, int>{{"5/1", 1}});  // recorded once all the same
}
