#include "udp_multicast_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "segment_batch.h"

namespace imaging::multicast {
namespace {

constexpr std::size_t kBatch = 64;
// With GRO one buffer holds up to 64 KiB of coalesced datagrams (the kernel never builds a
// larger UDP GRO packet, nor a larger GSO one); without it, one datagram of at most
// kMaxDatagram. Datagrams that were not coalesced (segmented before the wire, as on a lossy
// link) take a whole buffer each, so there are as many as a batch without GRO has: with 16,
// each recvmmsg returned 16 datagrams and the receive thread spent itself in system calls.
constexpr std::size_t kGroBuffers = kBatch;
constexpr std::size_t kGroBufferSize = 65536;

bool is_loss(int error) {
    // No route or buffer exhaustion on one datagram: it is a loss like any other.
    return error == ENOBUFS || error == EAGAIN || error == ENETUNREACH || error == EHOSTUNREACH ||
           error == ECONNREFUSED;
}

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

    // UDP_SEGMENT is per send (a cmsg); reading it back only asks whether the kernel has it.
    bool gso = false, gro = false;
    if (o.segmentation_offload) {
        int segment = 0;
        socklen_t length = sizeof segment;
        gso = getsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &segment, &length) == 0;
        gro = setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof one) == 0;
    }

    Endpoint g{ntohl(group.s_addr), o.port};
    return std::unique_ptr<UdpMulticastSocket>(new UdpMulticastSocket(fd, g, mtu, gso, gro));
}

UdpMulticastSocket::UdpMulticastSocket(int fd, Endpoint group, int mtu, bool gso, bool gro)
    : fd_(fd),
      group_(group),
      mtu_(mtu),
      gso_(gso),
      gro_(gro),
      buffers_((gro ? kGroBuffers : kBatch) * (gro ? kGroBufferSize : kMaxDatagram)),
      buffer_size_(gro ? kGroBufferSize : kMaxDatagram) {
    pending_.reserve(gro ? kGroBuffers * kMaxGsoSegments : kBatch);
}

UdpMulticastSocket::~UdpMulticastSocket() {
    ::close(fd_);
}

Status UdpMulticastSocket::send(std::span<const OutDatagram> datagrams) {
    return gso_ ? send_segmented(datagrams) : send_plain(datagrams);
}

Status UdpMulticastSocket::send_plain(std::span<const OutDatagram> datagrams) {
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
            if (is_loss(errno)) {
                datagrams = datagrams.subspan(1);
                continue;
            }
            return errno_status("sendmmsg");
        }
        datagrams = datagrams.subspan(std::size_t(sent));
    }
    return Status::ok();
}

Status UdpMulticastSocket::send_segmented(std::span<const OutDatagram> datagrams) {
    const std::vector<SendGroup> groups = plan_send_groups(datagrams);
    std::array<mmsghdr, kBatch> msgs;
    std::array<sockaddr_in, kBatch> addrs;
    union Control {
        char bytes[CMSG_SPACE(sizeof(std::uint16_t))];
        cmsghdr align;
    };
    std::array<Control, kBatch> controls;
    std::vector<iovec> iov(2 * datagrams.size());
    std::size_t g = 0;
    while (g < groups.size()) {
        const std::size_t n = std::min(groups.size() - g, kBatch);
        std::size_t k = 0;
        bool segmented = false;
        for (std::size_t i = 0; i < n; ++i) {
            const SendGroup& group = groups[g + i];
            msgs[i] = {};
            msghdr& h = msgs[i].msg_hdr;
            const std::size_t first_iov = k;
            for (std::size_t j = group.first; j < group.first + group.count; ++j) {
                const OutDatagram& d = datagrams[j];
                iov[k++] = {const_cast<std::uint8_t*>(d.header.data()), d.header.size()};
                if (!d.payload.empty())
                    iov[k++] = {const_cast<std::uint8_t*>(d.payload.data()), d.payload.size()};
            }
            h.msg_iov = iov.data() + first_iov;
            h.msg_iovlen = k - first_iov;
            addrs[i] = to_sockaddr(datagrams[group.first].to);
            h.msg_name = &addrs[i];
            h.msg_namelen = sizeof(sockaddr_in);
            if (group.segment_size == 0) continue;
            segmented = true;
            h.msg_control = controls[i].bytes;
            h.msg_controllen = sizeof controls[i].bytes;
            cmsghdr* c = CMSG_FIRSTHDR(&h);
            c->cmsg_level = IPPROTO_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
            const auto size = std::uint16_t(group.segment_size);
            std::memcpy(CMSG_DATA(c), &size, sizeof size);
        }
        int sent = sendmmsg(fd_, msgs.data(), unsigned(n), 0);
        if (sent < 0) {
            if (errno == EINTR) continue;
            if (is_loss(errno)) {
                ++g;  // a whole group lost: repaired as any loss is
                continue;
            }
            if (segmented && (errno == EIO || errno == EINVAL)) {
                // The kernel or the device refuses GSO here (no checksum offload, a path MTU
                // below the segment): one datagram per buffer from now on.
                gso_ = false;
                return send_plain(datagrams.subspan(groups[g].first));
            }
            return errno_status("sendmmsg");
        }
        g += std::size_t(sent);
    }
    return Status::ok();
}

Result<std::size_t> UdpMulticastSocket::fill(std::span<InDatagram> out) {
    std::size_t n = std::min(out.size(), pending_.size() - next_pending_);
    for (std::size_t i = 0; i < n; ++i) {
        const Pending& p = pending_[next_pending_++];
        out[i].from = p.from;
        // Longer than any peer sends: make it fail to decode. Not copied: the engines handle
        // a batch before the next receive() reuses the buffers.
        out[i].length = p.length <= kMaxDatagram ? p.length : 0;
        out[i].borrowed = p.bytes;
    }
    return n;
}

Result<std::size_t> UdpMulticastSocket::receive(std::span<InDatagram> out, Duration timeout) {
    if (next_pending_ < pending_.size()) return fill(out);
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
    const std::size_t n = buffers_.size() / buffer_size_;  // at most kBatch
    std::array<mmsghdr, kBatch> msgs;
    std::array<iovec, kBatch> iov;
    std::array<sockaddr_in, kBatch> addrs;
    union Control {
        char bytes[CMSG_SPACE(sizeof(int))];
        cmsghdr align;
    };
    std::array<Control, kBatch> controls;
    for (std::size_t i = 0; i < n; ++i) {
        iov[i] = {buffers_.data() + i * buffer_size_, buffer_size_};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_name = &addrs[i];
        msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        if (gro_) {
            msgs[i].msg_hdr.msg_control = controls[i].bytes;
            msgs[i].msg_hdr.msg_controllen = sizeof controls[i].bytes;
        }
    }
    int got = recvmmsg(fd_, msgs.data(), unsigned(n), MSG_DONTWAIT, nullptr);
    if (got < 0) {
        if (errno == EAGAIN || errno == EINTR) return std::size_t(0);
        return errno_status("recvmmsg");
    }
    pending_.clear();
    next_pending_ = 0;
    std::vector<Segment> segments;
    for (int i = 0; i < got; ++i) {
        msghdr& h = msgs[i].msg_hdr;
        std::size_t segment_size = 0;
        if (gro_)
            for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c))
                if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
                    int size = 0;
                    std::memcpy(&size, CMSG_DATA(c), sizeof size);
                    segment_size = std::size_t(std::max(size, 0));
                }
        segments.clear();
        split_received(msgs[i].msg_len, segment_size, (h.msg_flags & MSG_TRUNC) != 0, segments);
        const Endpoint from{ntohl(addrs[i].sin_addr.s_addr), ntohs(addrs[i].sin_port)};
        const std::uint8_t* base = buffers_.data() + std::size_t(i) * buffer_size_;
        for (const Segment& s : segments)
            pending_.push_back(Pending{base + s.offset, s.length, from});
    }
    return fill(out);
}

}  // namespace imaging::multicast
