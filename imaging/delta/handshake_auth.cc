#include "handshake_auth.h"

#include <openssl/rand.h>

#include "imaging/digest.h"

#include <stdexcept>
#include <string_view>
#include <vector>

namespace imaging::delta {

namespace {

Mac proof(const Secret& secret, std::string_view label, const Nonce& client, const Nonce& server) {
    const Secret key = derive_key(secret, "provisioner delta handshake v1");
    std::vector<std::uint8_t> msg(label.begin(), label.end());
    msg.insert(msg.end(), client.begin(), client.end());
    msg.insert(msg.end(), server.begin(), server.end());
    return hmac_sha256(key, msg);
}

}  // namespace

Nonce random_nonce() {
    Nonce n{};
    if (RAND_bytes(n.data(), int(n.size())) != 1) throw std::runtime_error("no random bytes for a nonce");
    return n;
}

Mac server_proof(const Secret& secret, const Nonce& client, const Nonce& server) {
    return proof(secret, "server", client, server);
}

Mac client_proof(const Secret& secret, const Nonce& client, const Nonce& server) {
    return proof(secret, "client", client, server);
}

Mac possession_digest(const Nonce& nonce, std::uint32_t chunk, std::span<const std::uint8_t> raw) {
    Sha256Stream h;
    h.update(nonce);
    const std::uint8_t le[4] = {std::uint8_t(chunk), std::uint8_t(chunk >> 8),
                                std::uint8_t(chunk >> 16), std::uint8_t(chunk >> 24)};
    h.update(le);
    h.update(raw);
    return h.finish();
}

Mac receipt_proof(const Secret& secret, const Nonce& client, const Nonce& server,
                  std::span<const std::uint8_t> image_sha256) {
    const Secret key = derive_key(secret, "provisioner delta receipt v1");
    std::vector<std::uint8_t> msg(client.begin(), client.end());
    msg.insert(msg.end(), server.begin(), server.end());
    msg.insert(msg.end(), image_sha256.begin(), image_sha256.end());
    return hmac_sha256(key, msg);
}

}  // namespace imaging::delta
