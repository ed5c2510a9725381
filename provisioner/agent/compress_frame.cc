#include "compress_frame.h"

#include <arpa/inet.h>

namespace provisioner::agent::compress {
namespace {

Status bad(const std::string& what) {
    return Status::error(Code::invalid_argument, "compressed frame: " + what);
}

std::optional<std::uint32_t> parse_address(const std::string& text) {
    in_addr addr{};
    if (inet_pton(AF_INET, text.c_str(), &addr) != 1) return std::nullopt;
    return ntohl(addr.s_addr);
}

}  // namespace

bool encode_frame(ZSTD_CCtx* cctx, int level, std::string_view packet, std::string& out) {
    out.resize(kHeader + ZSTD_compressBound(packet.size()));
    out[0] = char(kMagic);
    const std::size_t size = ZSTD_compressCCtx(cctx, out.data() + kHeader, out.size() - kHeader,
                                               packet.data(), packet.size(), level);
    if (!ZSTD_isError(size) && size < packet.size()) {
        out[1] = 1;
        out.resize(kHeader + size);
        return true;
    }
    out[1] = 0;
    out.replace(kHeader, std::string::npos, packet.data(), packet.size());
    return false;
}

Status decode_frame(ZSTD_DCtx* dctx, std::string_view frame, std::string& out) {
    if (frame.size() <= kHeader) return bad("shorter than its header");
    if (std::uint8_t(frame[0]) != kMagic) return bad("not this tunnel's format");
    const std::string_view body = frame.substr(kHeader);
    if (frame[1] == 0) {
        if (body.size() > kMaxPacket) return bad("packet too large");
        out.assign(body.data(), body.size());
        return Status::ok();
    }
    if (frame[1] != 1) return bad("unknown encoding");
    const unsigned long long size = ZSTD_getFrameContentSize(body.data(), body.size());
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size == 0 ||
        size > kMaxPacket)
        return bad("damaged or oversized zstd frame");
    out.resize(size);
    const std::size_t got =
        ZSTD_decompressDCtx(dctx, out.data(), out.size(), body.data(), body.size());
    if (ZSTD_isError(got) || got != size) return bad("damaged zstd frame");
    return Status::ok();
}

std::optional<PeerRoute> make_route(const std::string& cidr, const std::string& peer) {
    const auto slash = cidr.find('/');
    auto network = parse_address(cidr.substr(0, slash));
    auto through = parse_address(peer);
    if (!network || !through) return std::nullopt;
    int len = 32;
    if (slash != std::string::npos) {
        const std::string digits = cidr.substr(slash + 1);
        if (digits.empty() || digits.size() > 2 ||
            digits.find_first_not_of("0123456789") != std::string::npos)
            return std::nullopt;
        len = std::stoi(digits);
        if (len > 32) return std::nullopt;
    }
    PeerRoute r;
    r.mask = len == 0 ? 0 : ~std::uint32_t(0) << (32 - len);
    r.network = *network & r.mask;
    r.peer = *through;
    return r;
}

const PeerRoute* find_route(const std::vector<PeerRoute>& routes, std::uint32_t dst) {
    const PeerRoute* best = nullptr;
    for (const PeerRoute& r : routes)
        if ((dst & r.mask) == r.network && (!best || r.mask > best->mask)) best = &r;
    return best;
}

std::optional<Addresses> ipv4_addresses(std::string_view p) {
    if (p.size() < 20) return std::nullopt;
    const auto byte = [&](std::size_t i) { return std::uint32_t(std::uint8_t(p[i])); };
    const std::size_t header = (byte(0) & 0x0f) * 4;
    if ((byte(0) >> 4) != 4 || header < 20 || header > p.size()) return std::nullopt;
    if (((byte(2) << 8) | byte(3)) != p.size()) return std::nullopt;
    Addresses a;
    a.source = (byte(12) << 24) | (byte(13) << 16) | (byte(14) << 8) | byte(15);
    a.destination = (byte(16) << 24) | (byte(17) << 16) | (byte(18) << 8) | byte(19);
    return a;
}

}  // namespace provisioner::agent::compress
