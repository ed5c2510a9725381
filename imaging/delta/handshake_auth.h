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
#pragma once

#include <array>
#include <cstdint>

#include "imaging/secret.h"

namespace imaging::delta {

inline constexpr std::size_t kNonceSize = 32;
using Nonce = std::array<std::uint8_t, kNonceSize>;

Nonce random_nonce();
Mac server_proof(const Secret& secret, const Nonce& client, const Nonce& server);
Mac client_proof(const Secret& secret, const Nonce& client, const Nonce& server);

}  // namespace imaging::delta
