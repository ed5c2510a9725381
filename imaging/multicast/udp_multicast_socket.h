// The real DatagramSocket: one UDP socket bound to the session's port, joined to the group on
// one interface, sending and receiving in batches (sendmmsg/recvmmsg) with kernel buffers
// sized for the rate (SO_SNDBUFFORCE/SO_RCVBUFFORCE when root allows it). Where the kernel
// has UDP segmentation offload, runs of equal-sized datagrams leave as one GSO buffer
// (UDP_SEGMENT) and arrive as one GRO buffer (UDP_GRO), split back here (segment_batch.h):
// the engines see single datagrams either way. Not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "datagram_socket.h"

namespace imaging::multicast {

struct SocketOptions {
    std::string interface;
    std::string group = "239.192.77.1";
    std::uint16_t port = 7700;
    // The kernel doubles it. A GSO buffer is charged about its wire size (a single datagram
    // half again more), so this bounds what waits in the uplink's qdisc to about 4 MiB: a
    // qdisc with a shorter queue than that drops instead of pushing back (tbf at 1 Gbit/s with
    // 50 ms of latency holds 6.6 MB).
    int send_buffer = 2 << 20;
    int receive_buffer = 32 << 20;
    // Use UDP GSO/GRO when the kernel offers them (falls back to one datagram per buffer).
    bool segmentation_offload = true;
};

class UdpMulticastSocket final : public DatagramSocket {
  public:
    static Result<std::unique_ptr<UdpMulticastSocket>> open(const SocketOptions& options);
    ~UdpMulticastSocket() override;

    Endpoint group() const override { return group_; }
    Status send(std::span<const OutDatagram> datagrams) override;
    Result<std::size_t> receive(std::span<InDatagram> out, Duration timeout) override;
    // The interface's MTU: DATA datagrams are sized to it.
    int mtu() const { return mtu_; }
    // Whether sends use UDP_SEGMENT / receives take GRO buffers (for logs and benchmarks).
    bool sends_segmented() const { return gso_; }
    bool receives_coalesced() const { return gro_; }

  private:
    UdpMulticastSocket(int fd, Endpoint group, int mtu, bool gso, bool gro);
    Status send_plain(std::span<const OutDatagram> datagrams);
    Status send_segmented(std::span<const OutDatagram> datagrams);
    Result<std::size_t> fill(std::span<InDatagram> out);

    int fd_;
    Endpoint group_;
    int mtu_;
    bool gso_;
    bool gro_;
    // Received buffers (GRO: up to 64 KiB each) and the datagrams in them not handed out yet.
    std::vector<std::uint8_t> buffers_;
    std::size_t buffer_size_;
    struct Pending {
        const std::uint8_t* bytes;
        std::size_t length;
        Endpoint from;
    };
    std::vector<Pending> pending_;
    std::size_t next_pending_ = 0;
};

}  // namespace imaging::multicast
