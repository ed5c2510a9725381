#include "imaging/digest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>

namespace imaging {

Digest sha256(std::span<const std::uint8_t> data) {
    Digest d{};
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr);
    return d;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s(bytes.size() * 2, '0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        s[2 * i] = kDigits[bytes[i] >> 4];
        s[2 * i + 1] = kDigits[bytes[i] & 15];
    }
    return s;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex) {
    if (hex.size() % 2) return std::nullopt;
    std::vector<std::uint8_t> out(hex.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out[i] = std::uint8_t(hi << 4 | lo);
    }
    return out;
}

std::optional<Digest> digest_from_hex(std::string_view hex) {
    auto bytes = from_hex(hex);
    Digest d{};
    if (!bytes || bytes->size() != d.size()) return std::nullopt;
    std::copy(bytes->begin(), bytes->end(), d.begin());
    return d;
}

struct Sha256Stream::Impl {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256Stream::Sha256Stream() : impl_(std::make_unique<Impl>()) {
    if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("OpenSSL: cannot start SHA-256");
}
Sha256Stream::~Sha256Stream() = default;
Sha256Stream::Sha256Stream(Sha256Stream&&) noexcept = default;
Sha256Stream& Sha256Stream::operator=(Sha256Stream&&) noexcept = default;

void Sha256Stream::update(std::span<const std::uint8_t> data) {
    EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
}

void Sha256Stream::update_zeros(std::uint64_t n) {
    static const std::uint8_t kZeros[64 * 1024] = {};
    while (n > 0) {
        std::size_t step = n < sizeof kZeros ? std::size_t(n) : sizeof kZeros;
        EVP_DigestUpdate(impl_->ctx, kZeros, step);
        n -= step;
    }
}

Digest Sha256Stream::finish() {
    Digest d{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(impl_->ctx, d.data(), &len);
    return d;
}

}  // namespace imaging
