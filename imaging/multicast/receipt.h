// Proof of receipt in a multicast session (PROTOCOL.md, "Proof of receipt"; delivery.h): the
// RECEIPT's proof, which only the holder of one receiver id's key can make, bound to the
// session, the receiver's engine id and the image.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "imaging/secret.h"

namespace imaging::multicast {

// HMAC-SHA256(HMAC-SHA256(key, "provisioner multicast receipt v1"), session (4, big-endian)
// || receiver (4, big-endian) || image_sha256 || id). key: receiver_key(master, id).
Mac receipt_proof(const Secret& key, std::uint32_t session, std::uint32_t receiver,
                  std::span<const std::uint8_t> image_sha256, std::string_view id);

}  // namespace imaging::multicast
