#include "base/mac.h"

namespace base {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

Status bad(std::string_view text, const std::string& why) {
    return Status::error(Code::invalid_argument, "bad MAC \"" + std::string(text) + "\": " + why);
}

}  // namespace

Result<Mac> Mac::parse(std::string_view raw) {
    std::string_view text = trim(raw);
    if (text.empty()) return bad(text, "empty");
    if (text.size() != 17) return bad(text, "expected six hex pairs as aa:bb:cc:dd:ee:ff");
    const char sep = text[2];
    if (sep != ':' && sep != '-') return bad(text, "separator must be ':' or '-'");
    std::array<std::uint8_t, 6> bytes{};
    for (std::size_t i = 0; i < 6; ++i) {
        const std::size_t at = i * 3;
        if (i > 0 && text[at - 1] != sep) return bad(text, "mixed or misplaced separators");
        const int hi = hex_value(text[at]);
        const int lo = hex_value(text[at + 1]);
        if (hi < 0 || lo < 0) return bad(text, "not a hex digit");
        bytes[i] = std::uint8_t(hi * 16 + lo);
    }
    const Mac mac(bytes);
    if (mac == Mac()) return bad(text, "the all-zero address is not a host's");
    if (bytes[0] & 0x01) return bad(text, "a multicast or broadcast address is not a host's");
    return mac;
}

// By hand, not snprintf: every host of a listing is formatted (snprintf was 6% of the CPU time
// of GET /api/v1/hosts?limit=50).
std::string Mac::format(char separator) const {
    constexpr char kHex[] = "0123456789abcdef";
    std::string out(17, separator);
    for (std::size_t i = 0; i < 6; ++i) {
        out[i * 3] = kHex[bytes_[i] >> 4];
        out[i * 3 + 1] = kHex[bytes_[i] & 0x0f];
    }
    return out;
}

std::string Mac::str() const {
    return format(':');
}
std::string Mac::hyphen() const {
    return format('-');
}

}  // namespace base
