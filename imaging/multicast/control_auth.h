// Authentication of multicast control datagrams under the deployment's secret (PROTOCOL.md,
// "Authentication").
//
// With a secret, every control datagram (ANNOUNCE, POLL, NACK, STATUS, END) carries a trailer:
// a 64-bit counter, strictly increasing per origin (the sender, or one receiver id), and the
// first 16 bytes of HMAC-SHA256(key, everything before the tag), where key is derived from the
// secret for multicast alone. The tag covers the header, so the session id too. DATA and
// PARITY stay untagged: every chunk is checked against the signed manifest.
//
// Not thread-safe; one per engine.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "imaging/secret.h"
#include "packet.h"

namespace imaging::multicast {

inline constexpr std::size_t kAuthCounterSize = 8;
inline constexpr std::size_t kAuthTagSize = 16;
inline constexpr std::size_t kAuthTrailerSize = kAuthCounterSize + kAuthTagSize;
// The receiver-id origin of the sender's own datagrams (receiver ids are never 0).
inline constexpr std::uint32_t kSenderOrigin = 0;

// True for the types that carry a trailer when a session is authenticated.
bool is_control(std::span<const std::uint8_t> datagram);

class ControlAuth {
  public:
    explicit ControlAuth(const Secret& secret);

    // Appends the next counter and the tag to an encoded control datagram.
    void seal(std::vector<std::uint8_t>& datagram);

    struct Opened {
        std::span<const std::uint8_t> datagram;  // without the trailer, for decode()
        std::uint64_t counter = 0;
    };
    // The datagram without its trailer when the tag is right; nullopt otherwise (no trailer,
    // a wrong tag, or a tag under another secret).
    std::optional<Opened> open(std::span<const std::uint8_t> datagram) const;

    // Records `counter` for `origin` if it is above every counter seen from it: false for a
    // replayed (or reordered) datagram, which the caller drops. Origins are created only by
    // datagrams whose tag verified, so only holders of the secret add entries.
    bool fresh(std::uint32_t origin, std::uint64_t counter);

  private:
    Secret key_;
    std::uint64_t next_counter_ = 1;
    std::map<std::uint32_t, std::uint64_t> highest_;
};

// The origin of a decoded control packet: a NACK's or STATUS's receiver, else the sender.
std::uint32_t origin_of(const Packet& p);

}  // namespace imaging::multicast
