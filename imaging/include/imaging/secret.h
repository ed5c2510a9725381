// The per-deployment secret that authenticates the imaging transports' peers (delta's
// handshake, multicast control datagrams), and HMAC-SHA256 over it (OpenSSL).
//
// A secret is 32 random bytes, kept as 64 hex digits in a file (0600) named by --secret-file,
// so that it never appears on a command line. Each transport derives its own key from it
// (derive_key with a label), so a tag made for one can never be replayed to another.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "imaging/status.h"

namespace imaging {

inline constexpr std::size_t kSecretSize = 32;
using Secret = std::array<std::uint8_t, kSecretSize>;
using Mac = std::array<std::uint8_t, 32>;

// 32 bytes from the system's random source (OpenSSL RAND_bytes).
Result<Secret> random_secret();
std::string secret_to_hex(const Secret& secret);
// Exactly 64 hex digits, surrounding white space ignored.
Result<Secret> secret_from_hex(std::string_view hex);
// Reads a secret file. It is refused when group or others may read or write it.
Result<Secret> read_secret_file(const std::filesystem::path& path);
// Writes `secret` as hex into `path`, created 0600 (an existing file is replaced).
Status write_secret_file(const std::filesystem::path& path, const Secret& secret);

Mac hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data);
// HMAC-SHA256(secret, label): a key for one use of the secret.
Secret derive_key(const Secret& secret, std::string_view label);
// Compares in time independent of where the inputs differ; unequal sizes are unequal.
bool equal_tags(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

}  // namespace imaging
