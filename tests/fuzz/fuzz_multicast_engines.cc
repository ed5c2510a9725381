// A real multicast session (SenderEngine -> ReceiverEngine over the unit tests' FakeNetwork)
// with a rogue host on the same group: the input is the rogue's datagrams, each sent either
// to the group (the receiver hears it as the sender would be heard) or to the sender alone
// (forged NACKs and STATUS). Neither engine may crash, allocate by an attacker's number, or
// accept bytes that do not verify.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../unit/test_multicast_fakes.h"
#include "multicast/clock.h"
#include "multicast/receiver_engine.h"
#include "multicast/sender_engine.h"

using namespace imaging::multicast;
using namespace imaging::multicast::testing;
using namespace std::chrono_literals;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const MemoryImage image{4, 8192};
    FakeClock clock;
    FakeNetwork net;
    FakePort& server = net.add_port(0x0A000001);
    FakePort& host = net.add_port(0x0A000010);
    FakePort& rogue = net.add_port(0x0A000099);
    SenderConfig sc;
    sc.session = 77;
    sc.fragment_payload = 1000;
    sc.max_wait = 200ms;
    sc.receiver_timeout = 100ms;
    sc.rate.start_bps = sc.rate.max_bps = 200e6;
    SenderEngine sender(sc, image.objects(), server, clock);
    ReceiverConfig rc;
    rc.silence_timeout = 200ms;
    rc.max_buffered_bytes = 4 << 20;
    rc.max_early_bytes = 1 << 20;
    MemorySink sink;
    ReceiverEngine receiver(rc, host, clock, image.check(), sink);

    std::vector<InDatagram> in(64);
    auto pump = [&] {
        if (!sender.finished()) {
            (void)sender.tick();
            while (auto n = server.receive(in, {}).value())
                for (std::size_t i = 0; i < n; ++i) sender.on_datagram(in[i]);
        }
        while (auto n = host.receive(in, {}).value())
            for (std::size_t i = 0; i < n; ++i) receiver.on_datagram(in[i]);
        receiver.tick();
        rogue.inbox.clear();
        clock.advance(2ms);
    };
    // Records: [to-sender flag][length: 2 bytes][datagram], then a few rounds of the session.
    std::size_t at = 0;
    while (at + 3 <= size) {
        bool to_sender = data[at] & 1;
        std::size_t length = std::min<std::size_t>((data[at + 1] << 8) | data[at + 2], kMaxDatagram);
        at += 3;
        length = std::min(length, size - at);
        OutDatagram d;
        d.to = to_sender ? server.self() : FakeNetwork::kGroup;
        d.header = {data + at, length};
        net.deliver(rogue.self(), d);
        at += length;
        for (int round = 0; round < 4; ++round) pump();
    }
    for (int round = 0; round < 200 && !(sender.finished() && receiver.complete()); ++round) pump();
    // Whatever the rogue sent, nothing unverified was written.
    if (receiver.complete() && sink.image != image.raw) __builtin_trap();
    return 0;
}
