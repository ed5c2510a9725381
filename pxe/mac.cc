#include "pxe/mac.h"

#include <cstdio>

namespace pxe {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string format(const std::array<std::uint8_t, 6>& b, char sep) {
    char out[18];
    std::snprintf(out, sizeof out, "%02x%c%02x%c%02x%c%02x%c%02x%c%02x", b[0], sep, b[1], sep, b[2],
                  sep, b[3], sep, b[4], sep, b[5]);
    return out;
}

}  // namespace

Result<MacAddress> MacAddress::parse(std::string_view text) {
    auto bad = [&] {
        return Status::error("bad MAC address \"" + std::string(text) +
                             "\": want six hex pairs such as 52:54:00:12:34:56");
    };
    if (text.size() != 17) return bad();
    const char sep = text[2];
    if (sep != ':' && sep != '-') return bad();
    MacAddress mac;
    for (std::size_t i = 0; i < 6; ++i) {
        const std::size_t at = i * 3;
        if (i > 0 && text[at - 1] != sep) return bad();
        const int hi = hex_value(text[at]);
        const int lo = hex_value(text[at + 1]);
        if (hi < 0 || lo < 0) return bad();
        mac.bytes_[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    return mac;
}

std::string MacAddress::colon() const {
    return format(bytes_, ':');
}
std::string MacAddress::hyphen() const {
    return format(bytes_, '-');
}

}  // namespace pxe
