#include "imaging/secret.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/atomic_file.h"
#include "imaging/digest.h"

namespace imaging {

Result<Secret> random_secret() {
    Secret s{};
    if (RAND_bytes(s.data(), int(s.size())) != 1) return Status::error("no random bytes for a secret");
    return s;
}

std::string secret_to_hex(const Secret& secret) {
    return to_hex(secret);
}

Result<Secret> secret_from_hex(std::string_view hex) {
    while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.front()))) hex.remove_prefix(1);
    while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back()))) hex.remove_suffix(1);
    auto d = digest_from_hex(hex);
    if (hex.size() != 2 * kSecretSize || !d) return Status::error("a secret is 64 hex digits");
    return Secret(*d);
}

Result<Secret> read_secret_file(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return Status::error("secret file " + path.string() + ": " + std::strerror(errno));
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        return Status::error("secret file " + path.string() + " is open to group or others (chmod 600 it)");
    std::ifstream in(path);
    std::string text(200, '\0');
    in.read(text.data(), std::streamsize(text.size()));
    text.resize(std::size_t(in.gcount()));
    auto s = secret_from_hex(text);
    if (!s) return s.status().context("secret file " + path.string());
    return s;
}

Status write_secret_file(const std::filesystem::path& path, const Secret& secret) {
    return base::write_private_file(path, secret_to_hex(secret) + "\n");
}

Mac hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) {
    Mac out{};
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), int(key.size()), data.data(), data.size(), out.data(), &len);
    return out;
}

Secret derive_key(const Secret& secret, std::string_view label) {
    return hmac_sha256(secret, {reinterpret_cast<const std::uint8_t*>(label.data()), label.size()});
}

bool equal_tags(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace imaging
