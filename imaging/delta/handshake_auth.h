// Mutual authentication of a delta receiver and `imaging serve` under a shared secret
// (PROTOCOL.md beside this file). Both prove they hold the secret over a fresh nonce from
// each side, before the server sends its manifest or does any work for the receiver:
//
//   client kHello(magic, version, client_nonce[32])
//   server kChallenge(server_nonce[32], server_proof[32])
//   client kAuth(client_proof[32])           -> server kManifest ...
//
//   key          = HMAC-SHA256(secret, "provisioner delta handshake v1")
//   server_proof = HMAC-SHA256(key, "server" || client_nonce || server_nonce)
//   client_proof = HMAC-SHA256(key, "client" || client_nonce || server_nonce)
//
// Distinct labels keep one side's proof from being reflected as the other's; each side's own
// nonce keeps an old proof from being replayed to it.
//
// An identified receiver (its hello names a receiver id, delivery.h) holds
// receiver_key(server secret, id) in place of the server's secret, and both sides run the
// handshake above with that key. Once it has verified and synced the whole image it sends
//   client kReceipt(image_sha256[32], receipt_proof[32])
//   receipt_proof = HMAC-SHA256(HMAC-SHA256(key, "provisioner delta receipt v1"),
//                               client_nonce || server_nonce || image_sha256)
// The proof says who; that the receiver holds the image is checked next, since the holder of
// a receiver key knows the image's sha256 from its job and could prove a receipt without a
// byte: the server answers kPossessionChallenge(nonce, up to kPossessionSamples non-zero chunks
// picked at random), the receiver kPossession(SHA-256(nonce || u32 chunk || raw chunk) each,
// read back from its output), and only when every one matches does the server record the
// delivery and answer kReceiptAck. After kReceipt nothing more is served in the session.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "imaging/secret.h"

namespace imaging::delta {

inline constexpr std::size_t kNonceSize = 32;
using Nonce = std::array<std::uint8_t, kNonceSize>;

Nonce random_nonce();
Mac server_proof(const Secret& secret, const Nonce& client, const Nonce& server);
Mac client_proof(const Secret& secret, const Nonce& client, const Nonce& server);
inline constexpr std::uint32_t kPossessionSamples = 4;
// SHA-256(nonce || chunk (u32, little-endian) || raw).
Mac possession_digest(const Nonce& nonce, std::uint32_t chunk, std::span<const std::uint8_t> raw);
Mac receipt_proof(const Secret& secret, const Nonce& client, const Nonce& server,
                  std::span<const std::uint8_t> image_sha256);

}  // namespace imaging::delta
