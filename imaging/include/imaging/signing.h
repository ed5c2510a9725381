// Ed25519 keys (OpenSSL) for signing and checking image manifests.
// Key files are PEM: PREFIX.key (PKCS#8 private key, mode 0600) and PREFIX.pub (SubjectPublicKeyInfo).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "imaging/status.h"

namespace imaging {

struct KeyHandle;  // wraps EVP_PKEY

// Writes PREFIX.key and PREFIX.pub; refuses to overwrite an existing key.
Status generate_keypair(const std::filesystem::path& prefix);

class SigningKey {
public:
    static Result<SigningKey> load(const std::filesystem::path& key_file);
    // Returns the signature as lowercase hex.
    Result<std::string> sign(std::string_view message) const;

private:
    std::shared_ptr<KeyHandle> key_;
};

class VerifyKey {
public:
    static Result<VerifyKey> load(const std::filesystem::path& pub_file);
    bool verify(std::string_view message, std::string_view signature_hex) const;

private:
    std::shared_ptr<KeyHandle> key_;
};

}  // namespace imaging
