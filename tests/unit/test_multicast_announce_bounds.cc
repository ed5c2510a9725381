// A hostile ANNOUNCE: a fragment size below the minimum, a fragment count the receiver will
// not size its bookkeeping by, or a layout whose count wraps 32 bits, is refused and counted.
#include <doctest/doctest.h>

#include "multicast/fragment_layout.h"
#include "multicast/packet.h"
#include "multicast/receiver_engine.h"
#include "multicast/sender_engine.h"
#include "test_multicast_fakes.h"

using namespace imaging;
using namespace imaging::multicast;
using namespace imaging::multicast::testing;

namespace {

class StillClock final : public Clock {
  public:
    TimePoint now() override { return TimePoint{}; }
    wall_time_point wall_now() override { return {}; }
    void sleep_for(std::chrono::milliseconds) override {}
};

constexpr Endpoint kSender{0x0A000001, 7700};

InDatagram datagram(const std::vector<std::uint8_t>& bytes, Endpoint from = kSender) {
    InDatagram d;
    d.from = from;
    d.length = bytes.size();
    std::copy(bytes.begin(), bytes.end(), d.bytes.begin());
    return d;
}

struct Receiver {
    FakeNetwork net;
    FakePort& port = net.add_port(0x0A000010);
    StillClock clock;
    MemorySink sink;
    MemoryImage image;
    ReceiverEngine engine;
    explicit Receiver(ManifestCheck check = {}, ReceiverConfig config = {})
        : engine(config, port, clock, check ? std::move(check) : image.check(), sink) {}
    void hear(const std::vector<std::uint8_t>& bytes) { engine.on_datagram(datagram(bytes)); }
};

}  // namespace

TEST_SUITE("multicast announce bounds") {

TEST_CASE("decode refuses an ANNOUNCE whose fragment size is under the minimum") {
    CHECK(decode(encode(Announce{7, 1, 64, 10, 0})).error == DecodeError::kBadField);
    CHECK(decode(encode(Announce{7, kMinFragmentPayload - 1, 64, 10, 0})).error == DecodeError::kBadField);
    CHECK(decode(encode(Announce{7, kMinFragmentPayload, 64, 10, 0})).ok());
}

TEST_CASE("a layout whose fragment count would wrap 32 bits is not valid and has no fragments") {
    std::vector<std::uint32_t> huge(300, 0xFFFFFFFFu);  // 300 x 16.7M fragments of 256 bytes
    FragmentLayout wrapped(256, huge);
    CHECK_FALSE(wrapped.valid());
    CHECK(wrapped.total() == 0);
    CHECK(wrapped.objects() == 300);
    CHECK(wrapped.count(299) == 0);
    CHECK_FALSE(FragmentLayout(0, {10}).valid());
    FragmentLayout fine(256, {1000, 0, 256});
    CHECK(fine.valid());
    CHECK(fine.total() == 5);
}

TEST_CASE("a receiver counts an ANNOUNCE with fragment size 1 as rejected and joins the real one") {
    Receiver r;
    r.hear(encode(Announce{7, 1, 64, 10, 0}));
    CHECK(r.engine.stats().rejected == 1);
    CHECK(r.engine.session() == 0);
    r.hear(encode(Announce{8, 1000, 64, 100, 0}));
    CHECK(r.engine.session() == 8);
    CHECK(r.engine.stats().rejected == 1);
}

TEST_CASE("a receiver does not size its bookkeeping by an ANNOUNCE's huge fragment count") {
    ReceiverConfig config;
    config.max_total_fragments = 1000;
    Receiver r({}, config);
    r.hear(encode(Announce{7, 1000, 64, 0xFFFFFFFFu, 0}));
    CHECK(r.engine.stats().rejected == 1);
    CHECK(r.engine.session() == 0);
    Receiver by_default;
    by_default.hear(encode(Announce{7, 256, 64, 0xFFFFFFFFu, 0}));
    CHECK(by_default.engine.stats().rejected == 1);
    CHECK(by_default.engine.session() == 0);
}

TEST_CASE("a signed manifest whose layout wraps 32 bits fails the receiver with a clear error") {
    Manifest wrapping;
    wrapping.chunk_size = 1u << 20;
    wrapping.raw_size = std::uint64_t(300) << 20;
    for (int i = 0; i < 300; ++i) {
        ChunkEntry e;
        e.pack_size = 0xFFFFFFFFu;
        wrapping.chunks.push_back(e);
    }
    std::vector<std::uint8_t> manifest_bytes(64, 'M');
    Receiver r([&](std::span<const std::uint8_t>) -> Result<Manifest> { return wrapping; });
    r.hear(encode(Announce{7, 256, 64, 100, 1}));
    REQUIRE(r.engine.session() == 7);
    for (int attempt = 0; attempt < 3 && !r.engine.finished(); ++attempt)
        r.hear(encode(Data{7, 0, 0, 64, manifest_bytes, false}));
    REQUIRE(r.engine.finished());
    CHECK(r.engine.error().message().find("overflows 32 bits") != std::string::npos);
}

TEST_CASE("a sender configured under the minimum fragment size fails at once with the reason") {
    FakeNetwork net;
    FakePort& port = net.add_port(0x0A000001);
    StillClock clock;
    MemoryImage image;
    SenderConfig config;
    config.session = 7;
    config.fragment_payload = 100;
    SenderEngine sender(config, image.objects(), port, clock);
    Status s = sender.tick();
    REQUIRE_FALSE(s);
    CHECK(s.message().find("at least 256 bytes") != std::string::npos);
    CHECK(sender.finished());
}

}  // TEST_SUITE
