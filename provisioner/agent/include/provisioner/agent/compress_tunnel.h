// The real CompressPath (netservices.h): a TUN device the VMs' compressed traffic is routed
// into, and a UDP socket to the peer Dom0s' tunnels, served by one thread. Each packet read
// from the device goes to the peer of its destination's network as one datagram
// (compress_frame.h); each datagram from a peer is decoded and written to the device, where
// the kernel forwards it to the VM as if it had come by the wire. A datagram is taken only
// from a peer some route names, with a right tag under the site's key (set_key) and a counter
// not seen before (compress_frame.h), and only when its packet's source lies in a network
// routed through that peer, so the tunnel carries nothing but the selected VMs' traffic.
// Without a key it sends nothing and refuses every datagram.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "provisioner/agent/netservices.h"

namespace provisioner::agent {

struct CompressTunnelOptions {
    std::string device = "pvzip0";
    std::uint16_t port = 4790;  // the UDP port of every peer's tunnel
    int level = 1;              // zstd's: the fastest, as a per-packet compressor should be
};

struct CompressCounters {
    std::atomic<std::uint64_t> packets_out{0}, packets_compressed{0}, bytes_plain_out{0},
        bytes_wire_out{0}, packets_in{0}, packets_refused{0};
};

// Opens the device (up, rp_filter off: its packets' sources are routed elsewhere) and the
// socket, and starts the thread; the destructor stops it and closes both (the device goes).
// storage when the device or the socket cannot be made (root, /dev/net/tun, the port taken).
Result<std::unique_ptr<CompressPath>> open_compress_tunnel(
    const CompressTunnelOptions& options, std::shared_ptr<CompressCounters> counters = nullptr);

}  // namespace provisioner::agent
