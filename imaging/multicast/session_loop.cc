#include "session_loop.h"

#include <memory>
#include <vector>

namespace imaging::multicast {
namespace {

constexpr std::size_t kReceiveBatch = 64;

}  // namespace

Status run_sender(SenderEngine& engine, DatagramSocket& socket, const std::atomic<bool>& stop) {
    auto in = std::make_unique<std::vector<InDatagram>>(kReceiveBatch);
    while (!engine.finished()) {
        if (stop) {
            engine.abort();
            break;
        }
        if (Status s = engine.tick(); !s) return s;
        if (engine.finished()) break;
        auto got = socket.receive(*in, engine.wait_hint());
        if (!got) return got.status();
        for (std::size_t i = 0; i < got.value(); ++i) engine.on_datagram((*in)[i]);
    }
    return engine.error();
}

Status run_receiver(ReceiverEngine& engine, DatagramSocket& socket, const std::atomic<bool>& stop) {
    auto in = std::make_unique<std::vector<InDatagram>>(kReceiveBatch);
    while (!engine.finished()) {
        if (stop) return Status::error("interrupted");
        engine.tick();
        if (engine.finished()) break;
        auto got = socket.receive(*in, engine.wait_hint());
        if (!got) return got.status();
        // Drain what is queued before ticking again: NACK timing is coarse, the socket
        // buffer is not.
        for (std::size_t i = 0; i < got.value(); ++i) engine.on_datagram((*in)[i]);
        while (got.value() == kReceiveBatch) {
            got = socket.receive(*in, Duration::zero());
            if (!got) return got.status();
            for (std::size_t i = 0; i < got.value(); ++i) engine.on_datagram((*in)[i]);
        }
    }
    return engine.error();
}

}  // namespace imaging::multicast
