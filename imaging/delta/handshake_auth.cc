#include "handshake_auth.h"

#include <openssl/rand.h>

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

}  // namespace imaging::delta
