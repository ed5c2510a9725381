// UDP segmentation offload, the framing half (PROTOCOL.md, "Segmentation offload"): which
// datagrams of a send batch may leave as one GSO buffer, and how a GRO buffer received from
// the kernel splits back into datagrams. Pure functions, so the edge cases (a short last
// segment, a truncated buffer) are unit-tested without a kernel; UdpMulticastSocket does the
// system calls.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "datagram_socket.h"

namespace imaging::multicast {

// The kernel's limits on one GSO send: at most 64 segments (UDP_MAX_SEGMENTS on every kernel
// with UDP_SEGMENT) and one IPv4 datagram's worth of UDP payload.
inline constexpr std::size_t kMaxGsoSegments = 64;
inline constexpr std::size_t kMaxGsoBytes = 65535 - 20 - 8;

// `count` datagrams of a batch, from `first`, sent as one buffer. segment_size 0: a plain
// datagram (count 1); otherwise every datagram but the last is exactly segment_size bytes, the
// last at most that, and all go to the same endpoint.
struct SendGroup {
    std::size_t first = 0;
    std::size_t count = 0;
    std::size_t segment_size = 0;
    bool operator==(const SendGroup&) const = default;
};

// Cuts `batch` into groups, in order, each as long as the rules above, max_segments and
// max_bytes allow. A group of one datagram is plain.
std::vector<SendGroup> plan_send_groups(std::span<const OutDatagram> batch,
                                        std::size_t max_segments = kMaxGsoSegments,
                                        std::size_t max_bytes = kMaxGsoBytes);

// One datagram inside a received buffer: bytes [offset, offset + length).
struct Segment {
    std::size_t offset = 0;
    std::size_t length = 0;
    bool operator==(const Segment&) const = default;
};

// Appends to `out` the datagrams of one received buffer of `length` bytes (the bytes the
// kernel copied), coalesced by GRO into segments of `segment_size` (0: not coalesced, one
// datagram) with the last possibly shorter. `truncated` (MSG_TRUNC: the buffer was too small)
// means the buffer's last segment may be cut: whole segments are kept, a cut one (and a
// truncated plain datagram) is appended with length 0, so that it fails to decode and counts
// as rejected rather than being read short.
void split_received(std::size_t length, std::size_t segment_size, bool truncated,
                    std::vector<Segment>& out);

}  // namespace imaging::multicast
