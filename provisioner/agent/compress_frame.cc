#include "compress_frame.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

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

constexpr std::size_t kBody = kHeader + kCounter;

// The whole HMAC-SHA256 of sender's address and signed_part. One-shot HMAC over a copy: the
// copy costs less than the HMAC's own setup, and HMAC_CTX is deprecated in OpenSSL 3.
void tag_of(std::string_view key, std::uint32_t sender, std::string_view signed_part,
            unsigned char (&out)[EVP_MAX_MD_SIZE]) {
    thread_local std::string message;
    message.assign({char(sender >> 24), char(sender >> 16), char(sender >> 8), char(sender)});
    message.append(signed_part);
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), int(key.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &length);
}

}  // namespace

bool encode_frame(ZSTD_CCtx* cctx, int level, std::string_view key, std::uint32_t sender,
                  std::uint64_t counter, std::string_view packet, std::string& out) {
    out.resize(kBody + ZSTD_compressBound(packet.size()));
    out[0] = char(kMagic);
    for (std::size_t i = 0; i < kCounter; ++i)
        out[kHeader + i] = char(std::uint8_t(counter >> (8 * (kCounter - 1 - i))));
    const std::size_t size = ZSTD_compressCCtx(cctx, out.data() + kBody, out.size() - kBody,
                                               packet.data(), packet.size(), level);
    const bool compressed = !ZSTD_isError(size) && size < packet.size();
    if (compressed) {
        out[1] = 1;
        out.resize(kBody + size);
    } else {
        out[1] = 0;
        out.replace(kBody, std::string::npos, packet.data(), packet.size());
    }
    seal(key, sender, out);
    return compressed;
}

void seal(std::string_view key, std::uint32_t sender, std::string& frame) {
    unsigned char tag[EVP_MAX_MD_SIZE];
    tag_of(key, sender, frame, tag);
    frame.append(reinterpret_cast<const char*>(tag), kTag);
}

std::optional<std::uint64_t> open(std::string_view key, std::uint32_t sender,
                                  std::string_view frame) {
    if (frame.size() <= kOverhead || std::uint8_t(frame[0]) != kMagic) return std::nullopt;
    const std::string_view signed_part = frame.substr(0, frame.size() - kTag);
    unsigned char tag[EVP_MAX_MD_SIZE];
    tag_of(key, sender, signed_part, tag);
    if (CRYPTO_memcmp(tag, frame.data() + signed_part.size(), kTag) != 0) return std::nullopt;
    std::uint64_t counter = 0;
    for (std::size_t i = 0; i < kCounter; ++i)
        counter = (counter << 8) | std::uint8_t(frame[kHeader + i]);
    return counter;
}

Status decode_frame(ZSTD_DCtx* dctx, std::string_view frame, std::string& out) {
    if (frame.size() <= kOverhead) return bad("shorter than its header and tag");
    if (std::uint8_t(frame[0]) != kMagic) return bad("not this tunnel's format");
    const std::string_view body = frame.substr(kBody, frame.size() - kOverhead);
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

bool ReplayWindow::fresh(std::uint64_t counter) const {
    if (!any_ || counter > highest_) return true;
    const std::uint64_t age = highest_ - counter;
    return age < kSize && !((seen_ >> age) & 1);
}

void ReplayWindow::accept(std::uint64_t counter) {
    if (!any_ || counter > highest_) {
        const std::uint64_t shift = any_ ? counter - highest_ : kSize;
        seen_ = shift >= kSize ? 0 : seen_ << shift;
        seen_ |= 1;
        highest_ = counter;
        any_ = true;
        return;
    }
    const std::uint64_t age = highest_ - counter;
    if (age < kSize) seen_ |= std::uint64_t(1) << age;
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
