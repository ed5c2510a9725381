#include "udp_multicast_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace imaging::multicast {
namespace {

constexpr std::size_t kBatch = 64;

sockaddr_in to_sockaddr(const Endpoint& e) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(e.address);
    a.sin_port = htons(e.port);
    return a;
}

void set_buffer(int fd, int force_option, int option, int bytes) {
    if (setsockopt(fd, SOL_SOCKET, force_option, &bytes, sizeof bytes) != 0)
        setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof bytes);
}

}  // namespace

Result<std::unique_ptr<UdpMulticastSocket>> UdpMulticastSocket::open(const SocketOptions& o) {
    in_addr group{};
    if (inet_pton(AF_INET, o.group.c_str(), &group) != 1 || !IN_MULTICAST(ntohl(group.s_addr)))
        return Status::error("'" + o.group + "' is not an IPv4 multicast address");
    unsigned ifindex = if_nametoindex(o.interface.c_str());
    if (ifindex == 0) return errno_status("interface '" + o.interface + "'");

    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno_status("socket");
    auto close_on_error = [fd](Status s) {
        ::close(fd);
        return s;
    };
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, o.interface.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFMTU, &ifr) != 0)
        return close_on_error(errno_status("SIOCGIFMTU " + o.interface));
    int mtu = ifr.ifr_mtu;

    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, o.send_buffer);
    set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, o.receive_buffer);
    sockaddr_in bind_to{};
    bind_to.sin_family = AF_INET;
    bind_to.sin_addr.s_addr = htonl(INADDR_ANY);
    bind_to.sin_port = htons(o.port);
    if (bind(fd, reinterpret_cast<sockaddr*>(&bind_to), sizeof bind_to) != 0)
        return close_on_error(errno_status("bind to port " + std::to_string(o.port)));

    ip_mreqn membership{};
    membership.imr_multiaddr = group;
    membership.imr_ifindex = int(ifindex);
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &membership, sizeof membership) != 0)
        return close_on_error(errno_status("join " + o.group + " on " + o.interface));
    ip_mreqn out_if{};
    out_if.imr_ifindex = int(ifindex);
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &out_if, sizeof out_if) != 0)
        return close_on_error(errno_status("IP_MULTICAST_IF " + o.interface));
    unsigned char ttl = 1, loop = 0;
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);
    // Unicast replies must leave by the same interface as the group traffic.
    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o.interface.c_str(), socklen_t(o.interface.size()));

    Endpoint g{ntohl(group.s_addr), o.port};
    return std::unique_ptr<UdpMulticastSocket>(new UdpMulticastSocket(fd, g, mtu));
}

UdpMulticastSocket::~UdpMulticastSocket() {
    ::close(fd_);
}

Status UdpMulticastSocket::send(std::span<const OutDatagram> datagrams) {
    std::array<mmsghdr, kBatch> msgs;
    std::array<iovec, kBatch * 2> iov;
    std::array<sockaddr_in, kBatch> addrs;
    while (!datagrams.empty()) {
        std::size_t n = std::min(datagrams.size(), kBatch);
        for (std::size_t i = 0; i < n; ++i) {
            const OutDatagram& d = datagrams[i];
            addrs[i] = to_sockaddr(d.to);
            iov[2 * i] = {const_cast<std::uint8_t*>(d.header.data()), d.header.size()};
            iov[2 * i + 1] = {const_cast<std::uint8_t*>(d.payload.data()), d.payload.size()};
            msgs[i] = {};
            msgs[i].msg_hdr.msg_name = &addrs[i];
            msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
            msgs[i].msg_hdr.msg_iov = &iov[2 * i];
            msgs[i].msg_hdr.msg_iovlen = d.payload.empty() ? 1 : 2;
        }
        int sent = sendmmsg(fd_, msgs.data(), unsigned(n), 0);
        if (sent < 0) {
            if (errno == EINTR) continue;
            // No route or buffer exhaustion on one datagram: it is a loss like any other.
            if (errno == ENOBUFS || errno == EAGAIN || errno == ENETUNREACH ||
                errno == EHOSTUNREACH || errno == ECONNREFUSED) {
                datagrams = datagrams.subspan(1);
                continue;
            }
            return errno_status("sendmmsg");
        }
        datagrams = datagrams.subspan(std::size_t(sent));
    }
    return Status::ok();
}

Result<std::size_t> UdpMulticastSocket::receive(std::span<InDatagram> out, Duration timeout) {
    pollfd p{fd_, POLLIN, 0};
    timespec ts{};
    auto ns = std::max<std::int64_t>(0, timeout.count());
    ts.tv_sec = ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    int ready = ppoll(&p, 1, &ts, nullptr);
    if (ready < 0) {
        if (errno == EINTR) return std::size_t(0);
        return errno_status("ppoll");
    }
    if (ready == 0) return std::size_t(0);
    std::size_t n = std::min(out.size(), kBatch);
    std::array<mmsghdr, kBatch> msgs;
    std::array<iovec, kBatch> iov;
    std::array<sockaddr_in, kBatch> addrs;
    for (std::size_t i = 0; i < n; ++i) {
        iov[i] = {out[i].bytes.data(), out[i].bytes.size()};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_name = &addrs[i];
        msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int got = recvmmsg(fd_, msgs.data(), unsigned(n), MSG_DONTWAIT, nullptr);
    if (got < 0) {
        if (errno == EAGAIN || errno == EINTR) return std::size_t(0);
        return errno_status("recvmmsg");
    }
    for (int i = 0; i < got; ++i) {
        out[i].length = msgs[i].msg_len;
        out[i].from = Endpoint{ntohl(addrs[i].sin_addr.s_addr), ntohs(addrs[i].sin_port)};
        // A truncated datagram is longer than any peer sends: make it fail to decode.
        if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) out[i].length = 0;
    }
    return std::size_t(got);
}

}  // namespace imaging::multicast
