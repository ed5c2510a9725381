// ABSORB (PROTOCOL.md, "Rate control"): a receiver whose chunk pipeline falls behind tells the
// sender what it can absorb, and the sender paces no faster than its slowest live receiver.
// Over a fake network and clock, with a sink that verifies chunks at a fixed rate.
#include <doctest/doctest.h>

#include <deque>

#include "multicast/control_auth.h"
#include "multicast/rate_controller.h"
#include "multicast/receiver_engine.h"
#include "multicast/sender_engine.h"
#include "test_multicast_fakes.h"
#include "test_multicast_rig.h"

using namespace imaging;
using namespace imaging::multicast;
using namespace imaging::multicast::testing;
using namespace std::chrono_literals;

namespace {

// One worker that verifies `bytes_per_second` of frames: a receiver whose disk or CPU cannot
// keep up with the network. Results come back when their time has come on the fake clock.
class SlowSink final : public ChunkSink {
  public:
    SlowSink(FakeClock& clock, double bytes_per_second)
        : clock_(clock), bytes_per_second_(bytes_per_second) {}
    Status prepare(const Manifest& m) override { return inner.prepare(m); }
    void submit(std::uint32_t chunk, std::vector<std::uint8_t> frame) override {
        TimePoint start = std::max(free_at_, clock_.now());
        free_at_ = start + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(
                               double(frame.size()) / bytes_per_second_));
        queued_bytes_ += frame.size();
        peak_queued_bytes = std::max(peak_queued_bytes, queued_bytes_);
        queue_.push_back(Job{free_at_, chunk, std::move(frame)});
    }
    void submit_zero(std::uint32_t chunk) override { inner.submit_zero(chunk); }
    std::vector<ChunkResult> take_results() override {
        while (!queue_.empty() && queue_.front().due <= clock_.now()) {
            queued_bytes_ -= queue_.front().frame.size();
            inner.submit(queue_.front().chunk, std::move(queue_.front().frame));
            queue_.pop_front();
        }
        return inner.take_results();
    }
    Status finish() override { return inner.finish(); }

    MemorySink inner;
    std::size_t peak_queued_bytes = 0;

  private:
    struct Job {
        TimePoint due;
        std::uint32_t chunk;
        std::vector<std::uint8_t> frame;
    };
    FakeClock& clock_;
    double bytes_per_second_;
    TimePoint free_at_{};
    std::size_t queued_bytes_ = 0;
    std::deque<Job> queue_;
};

struct SlowSession {
    SenderStats sender;
    ReceiverStats receiver;
    std::size_t peak_queued_bytes = 0;
    bool complete = false;
    bool image_ok = false;
    Duration took{};
};

// One sender at 40 Mbit/s and one receiver whose pipeline verifies 0.5 MB/s (4 Mbit/s), with
// 256 KiB of buffer: far behind the network.
SlowSession run_slow(bool follow_absorb) {
    FakeClock clock;
    FakeNetwork net;
    MemoryImage image(48, 65536);
    FakePort& server = net.add_port(0x0A000001);
    FakePort& host = net.add_port(0x0A000011);
    SenderConfig sc = Rig::default_config(1);
    sc.rate.start_bps = sc.rate.max_bps = 40e6;
    sc.rate.min_bps = 1e6;
    sc.follow_absorb = follow_absorb;
    sc.receiver_timeout = 5s;
    SenderEngine sender(sc, image.objects(), server, clock);
    ReceiverConfig rc;
    rc.receiver_id = 1;
    rc.silence_timeout = 5s;
    rc.max_buffered_bytes = 256 << 10;
    rc.absorb_backlog = 64 << 10;
    SlowSink sink(clock, 0.5e6);
    ReceiverEngine receiver(rc, host, clock, image.check(), sink);
    std::vector<InDatagram> in(64);
    const TimePoint start = clock.now();
    for (Duration t{}; t < 20s && !(sender.finished() && receiver.finished()); t += 100us) {
        (void)sender.tick();
        while (auto n = server.receive(in, {}).value())
            for (std::size_t i = 0; i < n; ++i) sender.on_datagram(in[i]);
        while (auto n = host.receive(in, {}).value())
            for (std::size_t i = 0; i < n; ++i) receiver.on_datagram(in[i]);
        receiver.tick();
        clock.advance(100us);
    }
    SlowSession s;
    s.sender = sender.stats();
    s.receiver = receiver.stats();
    s.peak_queued_bytes = sink.peak_queued_bytes;
    s.complete = receiver.complete() && sender.finished() && sender.error().is_ok();
    s.image_ok = sink.inner.finished && sink.inner.image == image.raw;
    s.took = clock.now() - start;
    return s;
}

}  // namespace

TEST_CASE("ABSORB: encoded, decoded, and refused when malformed") {
    Absorb a{7, 3, 12, 800000, 4096};
    Decoded d = decode(encode(a));
    REQUIRE(d.ok());
    const Absorb& b = std::get<Absorb>(d.packet);
    CHECK(b.session == 7);
    CHECK(b.receiver == 3);
    CHECK(b.round == 12);
    CHECK(b.rate_kbps == 800000);
    CHECK(b.backlog_kib == 4096);
    CHECK(origin_of(d.packet) == 3);
    CHECK(is_control(encode(a)));

    a.rate_kbps = 0;  // "can absorb nothing" would stop the session: refused
    CHECK(decode(encode(a)).error == DecodeError::kBadField);
    auto bytes = encode(Absorb{7, 3, 12, 1, 0});
    bytes.push_back(0);
    CHECK(decode(bytes).error == DecodeError::kBadLength);
    bytes.resize(bytes.size() - 2);
    CHECK(decode(bytes).error == DecodeError::kBadLength);
}

TEST_CASE("RateController::cap lowers the rate, never below the floor, and it grows back") {
    FakeClock clock;
    RateConfig c;
    c.start_bps = 4e9;
    c.max_bps = 10e9;
    c.min_bps = 20e6;
    RateController r(c, clock.now());
    r.cap(1e9);
    CHECK(r.rate_bps() == doctest::Approx(1e9));
    r.cap(2e9);  // a cap above the rate changes nothing
    CHECK(r.rate_bps() == doctest::Approx(1e9));
    r.cap(1e3);
    CHECK(r.rate_bps() == doctest::Approx(20e6));
    r.end_round();  // no more reports: doubles back
    CHECK(r.rate_bps() == doctest::Approx(20e6 * c.slow_start));
    CHECK(r.in_slow_start());

    SUBCASE("out of slow start: back to the rate before the cap fast, then by recover") {
        RateController q(c, clock.now());
        q.on_loss_report(0.40);  // congestion: slow start over, 4 -> 2 Gbit/s
        q.end_round();
        for (int i = 0; i < 2; ++i) q.end_round();  // held
        REQUIRE_FALSE(q.in_slow_start());
        const double before = q.rate_bps();
        q.cap(before / 8);
        q.end_round();
        CHECK(q.rate_bps() == doctest::Approx(before / 8 * c.slow_start));
        for (int i = 0; i < 10; ++i) q.end_round();
        // Doubled back to where it was, then 6% a round: not 6% a round from the cap.
        CHECK(q.rate_bps() > before);
        CHECK(q.rate_bps() < before * 2);
    }
}

TEST_CASE("a receiver far behind: the sender paces at what it absorbs instead of re-sending") {
    SlowSession capped = run_slow(true);
    SlowSession blind = run_slow(false);
    REQUIRE(capped.complete);
    REQUIRE(blind.complete);
    CHECK(capped.image_ok);
    CHECK(blind.image_ok);
    MESSAGE("with ABSORB: " << capped.sender.bytes_sent << " bytes sent, "
                            << capped.receiver.deferred << " deferred, "
                            << capped.sender.repair_fragments << " repairs, "
                            << capped.sender.absorb_reports << " reports, lowest "
                            << capped.sender.lowest_absorb_bps / 1e6 << " Mbit/s, took "
                            << std::chrono::duration<double>(capped.took).count() << " s");
    MESSAGE("without: " << blind.sender.bytes_sent << " bytes sent, " << blind.receiver.deferred
                        << " deferred, " << blind.sender.repair_fragments << " repairs, took "
                        << std::chrono::duration<double>(blind.took).count() << " s");
    CHECK(capped.receiver.absorb_sent > 0);
    CHECK(capped.sender.absorb_reports == capped.receiver.absorb_sent);
    CHECK(blind.sender.absorb_reports == blind.receiver.absorb_sent);  // heard, not followed
    // It reported about what it drains: 0.5 MB/s of frames, 4 Mbit/s, less the margin, plus
    // the headers' share.
    CHECK(capped.sender.lowest_absorb_bps > 2e6);
    CHECK(capped.sender.lowest_absorb_bps < 6e6);
    // Without the cap the sender outruns it: most of the image is dropped for lack of buffer
    // and sent again. With it, little is (only what went before the first report).
    CHECK(blind.sender.repair_fragments > 2 * capped.sender.repair_fragments);
    CHECK(capped.sender.bytes_sent < blind.sender.bytes_sent);
    CHECK(capped.receiver.deferred < blind.receiver.deferred);
    // And it is no slower: the pipeline is the bottleneck either way.
    CHECK(capped.took <= blind.took + 200ms);
}

TEST_CASE("ABSORB for a round not started, or from receiver 0, is refused and caps nothing") {
    Rig rig(1, Rig::default_config(0), 48);
    REQUIRE(rig.run_until([&] { return rig.sender->stats().rounds >= 2; }));
    FakePort& forger = rig.net.add_port(0x0A0000F0);
    const std::uint32_t session = 77;
    const std::uint32_t now_round = rig.sender->stats().rounds;
    const auto rejected = rig.sender->stats().rejected;
    for (Absorb a : {Absorb{session, 9, now_round + 5, 1000, 0}, Absorb{session, 0, 1, 1000, 0}}) {
        std::vector<std::uint8_t> bytes = encode(a);
        OutDatagram d{rig.server.self(), bytes, {}};
        REQUIRE(forger.send(std::span<const OutDatagram>(&d, 1)));
    }
    rig.step();
    CHECK(rig.sender->stats().rejected == rejected + 2);
    CHECK(rig.sender->stats().absorb_reports == 0);
    REQUIRE(rig.run_until([&] { return rig.all_done(); }));
    CHECK(rig.sender->stats().lowest_absorb_bps == 0);
    rig.expect_complete(*rig.hosts[0]);
}
