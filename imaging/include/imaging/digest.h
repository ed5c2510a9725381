// SHA-256 digests (OpenSSL) and their hex form.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace imaging {

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(std::span<const std::uint8_t> data);
std::string to_hex(std::span<const std::uint8_t> bytes);
std::optional<Digest> digest_from_hex(std::string_view hex);
std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex);
// The value of one hex digit (either case), or -1.
int hex_digit(char c);

// Incremental SHA-256 for data that arrives in pieces (the whole-image hash).
class Sha256Stream {
public:
    Sha256Stream();
    ~Sha256Stream();
    Sha256Stream(Sha256Stream&&) noexcept;
    Sha256Stream& operator=(Sha256Stream&&) noexcept;
    void update(std::span<const std::uint8_t> data);
    // Feeds n zero bytes without the caller allocating them.
    void update_zeros(std::uint64_t n);
    Digest finish();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace imaging
