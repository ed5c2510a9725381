// The compression tunnel's datagram (README "Network services: compression"): one IPv4
// packet per UDP datagram, zstd-compressed when that makes it smaller, else carried as it is.
//   byte 0: 0x5b (the format; another value, as 0x5a of the unauthenticated tunnel, is refused)
//   byte 1: 0 = plain, 1 = zstd (one frame holding the whole packet)
//   bytes 2-9: the sender's counter, big-endian (one more per datagram; replay protection)
//   then the packet, or its zstd frame,
//   then a 16-byte tag: HMAC-SHA256 under the site's tunnel key of the sender's IPv4 address
//   (4 bytes, as the receiver sees it) and everything before the tag, truncated.
// Pure: the tunnel (compress_tunnel.cc) owns the sockets; this is what it says on them.
#pragma once

#include <zstd.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "provisioner/status.h"

namespace provisioner::agent::compress {

inline constexpr std::uint8_t kMagic = 0x5b;
inline constexpr std::size_t kHeader = 2;
inline constexpr std::size_t kCounter = 8;
inline constexpr std::size_t kTag = 16;
inline constexpr std::size_t kOverhead = kHeader + kCounter + kTag;
inline constexpr std::size_t kMaxPacket = 65535;

// Encodes packet into out (replacing its contents), sealed (seal) under key as sent by sender
// (IPv4, host order) with counter. Returns whether it went compressed: it does only when the
// zstd frame is smaller than the packet (IPComp's rule), so traffic that does not compress
// costs one attempt and kOverhead bytes, never more on the wire.
bool encode_frame(ZSTD_CCtx* cctx, int level, std::string_view key, std::uint32_t sender,
                  std::uint64_t counter, std::string_view packet, std::string& out);

// Appends to frame (header, counter, payload) its tag under key as sent by sender.
void seal(std::string_view key, std::uint32_t sender, std::string& frame);
// The counter of a frame whose tag is right for key and sender (compared in constant time);
// nullopt for a frame too short, of another format, or whose tag is wrong. Nothing of the
// frame is to be read before this said yes.
std::optional<std::uint64_t> open(std::string_view key, std::uint32_t sender,
                                  std::string_view frame);

// The packet an opened frame carries, into out. invalid_argument for a frame too short, of
// another format, whose zstd frame is damaged, or whose packet would exceed kMaxPacket.
Status decode_frame(ZSTD_DCtx* dctx, std::string_view frame, std::string& out);

// One peer's counters seen, as IPsec's anti-replay window (RFC 4303 3.4.3): the highest, and
// which of the kSize counters up to it. A counter is fresh when above the highest, or within
// the window and not seen; older ones are refused, as a replay may be.
class ReplayWindow {
  public:
    static constexpr std::uint64_t kSize = 64;
    bool fresh(std::uint64_t counter) const;
    // Call only for a fresh counter of an opened frame.
    void accept(std::uint64_t counter);

  private:
    bool any_ = false;
    std::uint64_t highest_ = 0;
    std::uint64_t seen_ = 0;  // bit i: highest_ - i was seen
};

// A remote network and the peer Dom0 (IPv4, host order) its traffic goes through.
struct PeerRoute {
    std::uint32_t network = 0;  // host order, host bits cleared
    std::uint32_t mask = 0;
    std::uint32_t peer = 0;
};
// "10.2.0.0/24" or "10.2.0.5" with the peer "10.77.0.12"; nullopt when either is malformed.
std::optional<PeerRoute> make_route(const std::string& cidr, const std::string& peer);

// Longest-prefix match of dst (host order); nullptr when no route holds it.
const PeerRoute* find_route(const std::vector<PeerRoute>& routes, std::uint32_t dst);

// An IPv4 packet's source and destination (host order) when it is a whole IPv4 packet
// (version 4, header length 20-60, total length equal to its size); nullopt otherwise.
struct Addresses {
    std::uint32_t source = 0;
    std::uint32_t destination = 0;
};
std::optional<Addresses> ipv4_addresses(std::string_view packet);

}  // namespace provisioner::agent::compress
