#include "auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <charconv>
#include <stdexcept>
#include <vector>

#include "imaging/digest.h"

namespace provisioner::server {

std::string Authenticator::random_hex(std::size_t bytes) {
    std::vector<std::uint8_t> buf(bytes);
    if (RAND_bytes(buf.data(), int(buf.size())) != 1)
        throw std::runtime_error("OpenSSL RAND_bytes failed");
    return imaging::to_hex(buf);
}

std::string Authenticator::new_operator_token() {
    return "op_" + random_hex(32);
}

std::string Authenticator::token_hash(std::string_view token) {
    auto digest = imaging::sha256(std::span(reinterpret_cast<const std::uint8_t*>(token.data()),
                                            token.size()));
    return imaging::to_hex(digest);
}

std::string Authenticator::host_mac_digest(HostId id, const std::string& mac) const {
    return digest("host:" + std::to_string(id) + ":" + mac);
}

std::string Authenticator::digest(const std::string& message) const {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret_.data(), int(secret_.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &length);
    return imaging::to_hex(std::span<const std::uint8_t>(out, length));
}

std::string Authenticator::host_token(const Host& host) const {
    return "h" + std::to_string(host.id) + "_" + host_mac_digest(host.id, host.mac.str());
}

std::string Authenticator::guest_token(const std::string& vm) const {
    return "g_" + digest("guest:" + vm);
}

bool Authenticator::is_guest(std::string_view header, const std::string& vm) const {
    constexpr std::string_view kBearer = "Bearer ";
    if (!header.starts_with(kBearer)) return false;
    std::string_view given = header.substr(kBearer.size());
    std::string expected = guest_token(vm);
    return given.size() == expected.size() &&
           CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

Principal Authenticator::identify(std::string_view header) {
    Principal p;
    if (header.empty()) return p;
    p.kind = Principal::Kind::invalid;
    constexpr std::string_view kBearer = "Bearer ";
    if (!header.starts_with(kBearer)) return p;
    std::string_view token = header.substr(kBearer.size());
    if (token.starts_with("op_")) {
        auto found = store_.find_api_token(token_hash(token));
        if (!found) return p;
        p.kind = Principal::Kind::operator_token;
        p.name = found->name;
        return p;
    }
    if (token.starts_with("h")) {
        auto sep = token.find('_');
        if (sep == std::string_view::npos) return p;
        HostId id = 0;
        auto digits = token.substr(1, sep - 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
        if (ec != std::errc() || end != digits.data() + digits.size()) return p;
        auto host = store_.get_host(id);
        if (!host) return p;
        std::string expected = host_mac_digest(id, host->mac.str());
        std::string_view given = token.substr(sep + 1);
        if (given.size() != expected.size() ||
            CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0)
            return p;
        p.kind = Principal::Kind::host_token;
        p.host = id;
    }
    return p;
}

}  // namespace provisioner::server
