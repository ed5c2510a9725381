// The narrow interface between the protocol engines and the network: batches of datagrams
// out, batches in. UdpMulticastSocket is the real one (sendmmsg/recvmmsg); tests use a fake
// network that delivers, drops or forges chosen datagrams.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "clock.h"
#include "imaging/status.h"
#include "packet.h"

namespace imaging::multicast {

// IPv4 address and port, host byte order.
struct Endpoint {
    std::uint32_t address = 0;
    std::uint16_t port = 0;
    bool operator==(const Endpoint&) const = default;
};

// One datagram to send: header and payload are sent as two iovecs, so DATA payloads go out
// straight from the mapped pack. Both spans must stay valid until send() returns.
struct OutDatagram {
    Endpoint to;
    std::span<const std::uint8_t> header;
    std::span<const std::uint8_t> payload;
    std::size_t size() const { return header.size() + payload.size(); }
};

// A received datagram: its bytes are in `bytes`, or, where `borrowed` is set, in the socket's
// own receive buffers (no copy), valid only until the next receive() on that socket.
struct InDatagram {
    Endpoint from;
    std::size_t length = 0;
    std::array<std::uint8_t, kMaxDatagram> bytes;
    const std::uint8_t* borrowed = nullptr;
    std::span<const std::uint8_t> view() const { return {borrowed ? borrowed : bytes.data(), length}; }
};

class DatagramSocket {
  public:
    virtual ~DatagramSocket() = default;
    // Where group traffic goes (the multicast group and port).
    virtual Endpoint group() const = 0;
    // Sends every datagram in order (blocking when the socket buffer is full).
    virtual Status send(std::span<const OutDatagram> datagrams) = 0;
    // Waits up to timeout for datagrams; fills a prefix of out and returns how many (0 on
    // timeout). Datagrams it fills may borrow the socket's buffers: handle them before the
    // next call.
    virtual Result<std::size_t> receive(std::span<InDatagram> out, Duration timeout) = 0;
};

}  // namespace imaging::multicast
