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
    auto digest = imaging::sha256(
        std::span(reinterpret_cast<const std::uint8_t*>(token.data()), token.size()));
    return imaging::to_hex(digest);
}

std::string Authenticator::host_digest(char kind, HostId id, const std::string& mac,
                                       DeploymentId number) const {
    return digest(std::string(1, kind) + ":host:" + std::to_string(id) + ":" + mac + ":" +
                  std::to_string(number));
}

namespace {

std::string dom0_generation_key(HostId id) {
    return Authenticator::kDom0GenerationPrefix + std::to_string(id);
}

std::optional<std::int64_t> parse_number(std::string_view digits) {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || n < 0)
        return std::nullopt;
    return n;
}

// "<kind><host>_<number>_<hex>" split into its parts; nullopt if it is not of that shape.
struct HostTokenParts {
    char kind;
    HostId host;
    std::int64_t number;
    std::string_view digest;
};
std::optional<HostTokenParts> split_host_token(std::string_view token) {
    if (token.size() < 2) return std::nullopt;
    auto first = token.find('_');
    if (first == std::string_view::npos) return std::nullopt;
    auto second = token.find('_', first + 1);
    if (second == std::string_view::npos) return std::nullopt;
    auto host = parse_number(token.substr(1, first - 1));
    auto number = parse_number(token.substr(first + 1, second - first - 1));
    if (!host || !number) return std::nullopt;
    return HostTokenParts{token[0], *host, *number, token.substr(second + 1)};
}

bool same(std::string_view given, const std::string& expected) {
    return given.size() == expected.size() &&
           CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

}  // namespace

Result<DeploymentId> Authenticator::dom0_generation(HostId id) {
    auto value = store_.get_setting(dom0_generation_key(id));
    if (!value) {
        if (value.status().code() == Code::not_found) return DeploymentId(0);
        return value.status();
    }
    auto n = parse_number(*value);
    if (!n)
        return Status::error(Code::storage,
                             "bad Dom0 token generation for host " + std::to_string(id));
    return *n;
}

Status Authenticator::set_dom0_generation(Store& store, HostId host, DeploymentId generation) {
    return store.set_setting(dom0_generation_key(host), std::to_string(generation));
}

Status Authenticator::forget_dom0_generation(Store& store, HostId host) {
    return store.delete_setting(dom0_generation_key(host));
}

std::string Authenticator::digest(const std::string& message) const {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret_.data(), int(secret_.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &length);
    return imaging::to_hex(std::span<const std::uint8_t>(out, length));
}

std::string Authenticator::boot_ticket(const Host& host, DeploymentId deployment) const {
    return "t" + std::to_string(host.id) + "_" + std::to_string(deployment) + "_" +
           host_digest('t', host.id, host.mac.str(), deployment);
}

std::string Authenticator::deployment_token(const Host& host, DeploymentId deployment) const {
    return "d" + std::to_string(host.id) + "_" + std::to_string(deployment) + "_" +
           host_digest('d', host.id, host.mac.str(), deployment);
}

std::string Authenticator::dom0_token(const Host& host, DeploymentId generation) const {
    return "h" + std::to_string(host.id) + "_" + std::to_string(generation) + "_" +
           host_digest('h', host.id, host.mac.str(), generation);
}

Result<std::string> Authenticator::dom0_token(const Host& host) {
    auto generation = dom0_generation(host.id);
    if (!generation) return generation.status();
    return dom0_token(host, *generation);
}

std::string Authenticator::guest_token(const std::string& vm) const {
    return "g_" + digest("guest:" + vm);
}

bool Authenticator::is_guest(std::string_view header, const std::string& vm) const {
    constexpr std::string_view kBearer = "Bearer ";
    if (!header.starts_with(kBearer)) return false;
    std::string_view given = header.substr(kBearer.size());
    return same(given, guest_token(vm));
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
    auto parts = split_host_token(token);
    if (!parts) return p;
    auto host = store_.get_host(parts->host);
    if (!host) return p;
    if (!same(parts->digest, host_digest(parts->kind, parts->host, host->mac.str(), parts->number)))
        return p;
    switch (parts->kind) {
        case 'h': {
            // Only the current generation's Dom0 token: an older one belongs to a system that
            // has been imaged over.
            auto generation = dom0_generation(parts->host);
            if (!generation || *generation != parts->number) return p;
            p.kind = Principal::Kind::host_token;
            break;
        }
        case 't':
            p.kind = Principal::Kind::boot_ticket;
            break;
        case 'd':
            p.kind = Principal::Kind::deployment_token;
            break;
        default:
            return p;
    }
    p.host = parts->host;
    if (parts->kind != 'h') p.deployment = parts->number;
    return p;
}

}  // namespace provisioner::server
