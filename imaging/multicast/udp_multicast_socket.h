// The real DatagramSocket: one UDP socket bound to the session's port, joined to the group on
// one interface, sending and receiving in batches (sendmmsg/recvmmsg) with kernel buffers
// sized for the rate (SO_SNDBUFFORCE/SO_RCVBUFFORCE when root allows it).
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
    int send_buffer = 4 << 20;
    int receive_buffer = 32 << 20;
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

  private:
    UdpMulticastSocket(int fd, Endpoint group, int mtu) : fd_(fd), group_(group), mtu_(mtu) {}
    int fd_;
    Endpoint group_;
    int mtu_;
};

}  // namespace imaging::multicast
