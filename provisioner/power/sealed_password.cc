#include "provisioner/power/sealed_password.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <memory>
#include <vector>

namespace provisioner::power {
namespace {

using base::Code;
using base::Status;

constexpr std::size_t kNonce = 12;
constexpr std::size_t kTag = 16;

std::array<unsigned char, 32> derive_key(const std::string& secret, const std::string& purpose) {
    std::array<unsigned char, 32> key{};
    unsigned len = 0;
    HMAC(EVP_sha256(), secret.data(), int(secret.size()),
         reinterpret_cast<const unsigned char*>(purpose.data()), purpose.size(), key.data(), &len);
    return key;
}

constexpr const char* kBmcPurpose = "bmc-password";
std::string aad_of(std::int64_t host) { return "host:" + std::to_string(host); }

std::string to_hex(const std::vector<unsigned char>& bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

bool from_hex(const std::string& text, std::vector<unsigned char>& out) {
    if (text.size() % 2) return false;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < text.size(); i += 2) {
        int hi = nibble(text[i]), lo = nibble(text[i + 1]);
        if (hi < 0 || lo < 0) return false;
        out.push_back(static_cast<unsigned char>(hi << 4 | lo));
    }
    return true;
}

using Ctx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

}  // namespace

base::Result<std::string> seal_password(const std::string& secret, std::int64_t host,
                                        const std::string& password) {
    auto sealed = seal_text(secret, kBmcPurpose, aad_of(host), password);
    if (!sealed) return Status::error("sealing the BMC password failed (OpenSSL)");
    return sealed;
}

base::Result<std::string> open_password(const std::string& secret, std::int64_t host,
                                        const std::string& sealed) {
    auto plain = open_text(secret, kBmcPurpose, aad_of(host), sealed);
    if (plain) return plain;
    if (plain.status().code() == Code::invalid_argument)
        return Status::error(Code::invalid_argument, "not a sealed BMC password");
    return Status::error("the sealed BMC password does not open (another server secret, "
                         "another host, or changed bytes)");
}

base::Result<std::string> seal_text(const std::string& secret, const std::string& purpose,
                                    const std::string& aad, const std::string& text) {
    const auto key = derive_key(secret, purpose);
    std::vector<unsigned char> out(kNonce + text.size() + kTag);
    if (RAND_bytes(out.data(), int(kNonce)) != 1) return Status::error("RAND_bytes failed");
    Ctx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
    int len = 0;
    if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(),
                                   out.data()) != 1 ||
        EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                          reinterpret_cast<const unsigned char*>(aad.data()), int(aad.size())) != 1 ||
        EVP_EncryptUpdate(ctx.get(), out.data() + kNonce, &len,
                          reinterpret_cast<const unsigned char*>(text.data()),
                          int(text.size())) != 1 ||
        EVP_EncryptFinal_ex(ctx.get(), out.data() + kNonce + len, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, int(kTag),
                            out.data() + kNonce + text.size()) != 1)
        return Status::error("sealing failed (OpenSSL)");
    return "v1:" + to_hex(out);
}

base::Result<std::string> open_text(const std::string& secret, const std::string& purpose,
                                    const std::string& aad, const std::string& sealed) {
    std::vector<unsigned char> bytes;
    if (sealed.rfind("v1:", 0) != 0 || !from_hex(sealed.substr(3), bytes) ||
        bytes.size() < kNonce + kTag)
        return Status::error(Code::invalid_argument, "not a sealed text");
    const auto key = derive_key(secret, purpose);
    const std::size_t n = bytes.size() - kNonce - kTag;
    std::string plain(n, '\0');
    Ctx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
    int len = 0;
    if (!ctx ||
        EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), bytes.data()) != 1 ||
        EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                          reinterpret_cast<const unsigned char*>(aad.data()), int(aad.size())) != 1 ||
        EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len,
                          bytes.data() + kNonce, int(n)) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, int(kTag),
                            bytes.data() + kNonce + n) != 1 ||
        EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len,
                            &len) != 1)
        return Status::error("the sealed text does not open (another secret, another "
                             "context, or changed bytes)");
    return plain;
}

}  // namespace provisioner::power
