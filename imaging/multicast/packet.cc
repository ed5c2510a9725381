#include "packet.h"

#include <cstring>

namespace imaging::multicast {
namespace {

class Writer {
  public:
    explicit Writer(std::vector<std::uint8_t>& out) : out_(out) {}
    void u8(std::uint8_t v) { out_.push_back(v); }
    void u16(std::uint16_t v) {
        out_.push_back(std::uint8_t(v >> 8));
        out_.push_back(std::uint8_t(v));
    }
    void u32(std::uint32_t v) {
        u16(std::uint16_t(v >> 16));
        u16(std::uint16_t(v));
    }
    void header(PacketType type, std::uint32_t session) {
        u32(kMagic);
        u8(kVersion);
        u8(std::uint8_t(type));
        u16(0);
        u32(session);
    }

  private:
    std::vector<std::uint8_t>& out_;
};

class Reader {
  public:
    explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
    bool has(std::size_t n) const { return in_.size() - pos_ >= n; }
    std::size_t remaining() const { return in_.size() - pos_; }
    std::uint8_t u8() { return in_[pos_++]; }
    std::uint16_t u16() {
        std::uint16_t v = std::uint16_t(in_[pos_] << 8 | in_[pos_ + 1]);
        pos_ += 2;
        return v;
    }
    std::uint32_t u32() {
        std::uint32_t hi = u16();
        return hi << 16 | u16();
    }
    std::span<const std::uint8_t> rest() { return in_.subspan(pos_); }

  private:
    std::span<const std::uint8_t> in_;
    std::size_t pos_ = 0;
};

Decoded fail(DecodeError e) {
    Decoded d;
    d.error = e;
    return d;
}

void put_u32(std::uint8_t* p, std::uint32_t v) {
    p[0] = std::uint8_t(v >> 24);
    p[1] = std::uint8_t(v >> 16);
    p[2] = std::uint8_t(v >> 8);
    p[3] = std::uint8_t(v);
}

}  // namespace

const char* to_string(DecodeError e) {
    switch (e) {
        case DecodeError::kNone:
            return "ok";
        case DecodeError::kTooShort:
            return "datagram too short";
        case DecodeError::kBadMagic:
            return "bad magic";
        case DecodeError::kBadVersion:
            return "unsupported version";
        case DecodeError::kBadType:
            return "unknown type";
        case DecodeError::kBadLength:
            return "length does not match type";
        case DecodeError::kBadField:
            return "field out of range";
    }
    return "?";
}

Decoded decode(std::span<const std::uint8_t> datagram) {
    Reader r(datagram);
    if (!r.has(kCommonHeaderSize)) return fail(DecodeError::kTooShort);
    if (r.u32() != kMagic) return fail(DecodeError::kBadMagic);
    if (r.u8() != kVersion) return fail(DecodeError::kBadVersion);
    std::uint8_t type = r.u8();
    std::uint16_t reserved = r.u16();  // PARITY: the repair index; otherwise 0, ignored
    std::uint32_t session = r.u32();
    Decoded d;
    switch (PacketType(type)) {
        case PacketType::kAnnounce: {
            if (r.remaining() != 17) return fail(DecodeError::kBadLength);
            Announce a;
            a.session = session;
            a.fragment_payload = r.u32();
            a.manifest_size = r.u32();
            a.total_fragments = r.u32();
            r.u32();  // reserved
            a.sending = r.u8();
            if (a.fragment_payload < kMinFragmentPayload || a.fragment_payload > kMaxDatagram ||
                a.manifest_size == 0 || a.total_fragments == 0 || a.sending > 1)
                return fail(DecodeError::kBadField);
            d.packet = a;
            return d;
        }
        case PacketType::kData:
        case PacketType::kParity: {
            if (!r.has(12)) return fail(DecodeError::kTooShort);
            Data p;
            p.parity = PacketType(type) == PacketType::kParity;
            p.session = session;
            p.object = r.u32();
            p.fragment = r.u32();
            p.object_size = r.u32();
            p.payload = r.rest();
            if (p.payload.empty()) return fail(DecodeError::kBadLength);
            if (p.parity) {
                if (reserved >= kMaxRepairIndex) return fail(DecodeError::kBadField);
                p.repair_index = reserved;
            }
            d.packet = p;
            return d;
        }
        case PacketType::kPoll: {
            if (r.remaining() != 10) return fail(DecodeError::kBadLength);
            Poll p;
            p.session = session;
            p.round = r.u32();
            p.high_water = r.u32();
            p.backoff_ms = r.u16();
            d.packet = p;
            return d;
        }
        case PacketType::kNack: {
            if (!r.has(12)) return fail(DecodeError::kTooShort);
            Nack n;
            n.session = session;
            n.receiver = r.u32();
            n.round = r.u32();
            n.loss_permille = r.u16();
            std::uint16_t count = r.u16();
            if (count > kMaxNackRanges || r.remaining() < std::size_t(count) * 8 + 2)
                return fail(DecodeError::kBadLength);
            n.ranges.reserve(count);
            for (std::uint16_t i = 0; i < count; ++i) {
                Range range;
                range.first = r.u32();
                range.count = r.u32();
                if (range.count == 0 || range.first + std::uint64_t(range.count) > 0xFFFFFFFFull)
                    return fail(DecodeError::kBadField);
                n.ranges.push_back(range);
            }
            std::uint16_t parity = r.u16();
            if (parity > kMaxNackParity || r.remaining() != std::size_t(parity) * 6)
                return fail(DecodeError::kBadLength);
            for (std::uint16_t i = 0; i < parity; ++i) {
                ParityRequest q;
                q.block = r.u32();
                q.count = r.u16();
                if (q.count == 0 || q.count > kParityBlock) return fail(DecodeError::kBadField);
                n.parity.push_back(q);
            }
            if (n.loss_permille > 1000 && n.loss_permille != kNoLossSample)
                return fail(DecodeError::kBadField);
            d.packet = std::move(n);
            return d;
        }
        case PacketType::kStatus: {
            if (r.remaining() != 9) return fail(DecodeError::kBadLength);
            StatusReport s;
            s.session = session;
            s.receiver = r.u32();
            std::uint8_t state = r.u8();
            if (state != std::uint8_t(ReceiverState::kReceiving) &&
                state != std::uint8_t(ReceiverState::kDone))
                return fail(DecodeError::kBadField);
            s.state = ReceiverState(state);
            s.missing = r.u32();
            d.packet = s;
            return d;
        }
        case PacketType::kReceipt: {
            if (!r.has(4 + 32 + 1)) return fail(DecodeError::kTooShort);
            Receipt p;
            p.session = session;
            p.receiver = r.u32();
            for (auto& b : p.image_sha256) b = r.u8();
            const std::size_t n = r.u8();
            if (n == 0 || n > kMaxReceiptId || r.remaining() != n + 32)
                return fail(DecodeError::kBadLength);
            for (std::size_t i = 0; i < n; ++i) p.id.push_back(char(r.u8()));
            for (auto& b : p.proof) b = r.u8();
            d.packet = std::move(p);
            return d;
        }
        case PacketType::kReceiptAck: {
            if (r.remaining() != 4) return fail(DecodeError::kBadLength);
            d.packet = ReceiptAck{session, r.u32()};
            return d;
        }
        case PacketType::kAbsorb: {
            if (r.remaining() != 16) return fail(DecodeError::kBadLength);
            Absorb a;
            a.session = session;
            a.receiver = r.u32();
            a.round = r.u32();
            a.rate_kbps = r.u32();
            a.backlog_kib = r.u32();
            if (a.rate_kbps == 0) return fail(DecodeError::kBadField);
            d.packet = a;
            return d;
        }
        case PacketType::kEnd: {
            if (r.remaining() != 1) return fail(DecodeError::kBadLength);
            End e;
            e.session = session;
            std::uint8_t reason = r.u8();
            if (reason != std::uint8_t(EndReason::kComplete) &&
                reason != std::uint8_t(EndReason::kAborted))
                return fail(DecodeError::kBadField);
            e.reason = EndReason(reason);
            d.packet = e;
            return d;
        }
    }
    return fail(DecodeError::kBadType);
}

std::vector<std::uint8_t> encode(const Announce& p) {
    std::vector<std::uint8_t> out;
    Writer w(out);
    w.header(PacketType::kAnnounce, p.session);
    w.u32(p.fragment_payload);
    w.u32(p.manifest_size);
    w.u32(p.total_fragments);
    w.u32(0);
    w.u8(p.sending);
    return out;
}

std::vector<std::uint8_t> encode(const Poll& p) {
    std::vector<std::uint8_t> out;
    Writer w(out);
    w.header(PacketType::kPoll, p.session);
    w.u32(p.round);
    w.u32(p.high_water);
    w.u16(p.backoff_ms);
    return out;
}

std::vector<std::uint8_t> encode(const Nack& p) {
    std::vector<std::uint8_t> out;
    Writer w(out);
    w.header(PacketType::kNack, p.session);
    w.u32(p.receiver);
    w.u32(p.round);
    w.u16(p.loss_permille);
    w.u16(std::uint16_t(p.ranges.size()));
    for (const Range& r : p.ranges) {
        w.u32(r.first);
        w.u32(r.count);
    }
    w.u16(std::uint16_t(p.parity.size()));
    for (const ParityRequest& q : p.parity) {
        w.u32(q.block);
        w.u16(q.count);
    }
    return out;
}

std::vector<std::uint8_t> encode(const StatusReport& p) {
    std::vector<std::uint8_t> out;
    Writer w(out);
    w.header(PacketType::kStatus, p.session);
    w.u32(p.receiver);
    w.u8(std::uint8_t(p.state));
    w.u32(p.missing);
    return out;
}

std::vector<std::uint8_t> encode(const End& p) {
    std::vector<std::uint8_t> out;
    Writer w(out);
    w.header(PacketType::kEnd, p.session);
    w.u8(std::uint8_t(p.reason));
    return out;
}

std::vector<std::uint8_t> encode(const Receipt& p) {
    std::vector<std::uint8_t> out;
    Writer w(out);
    w.header(PacketType::kReceipt, p.session);
    w.u32(p.receiver);
    out.insert(out.end(), p.image_sha256.begin(), p.image_sha256.end());
    w.u8(std::uint8_t(p.id.size()));
    out.insert(out.end(), p.id.begin(), p.id.end());
    out.insert(out.end(), p.proof.begin(), p.proof.end());
    return out;
}

std::vector<std::uint8_t> encode(const ReceiptAck& p) {
    std::vector<std::uint8_t> out;
    Writer w(out);
    w.header(PacketType::kReceiptAck, p.session);
    w.u32(p.receiver);
    return out;
}

std::vector<std::uint8_t> encode(const Absorb& p) {
    std::vector<std::uint8_t> out;
    Writer w(out);
    w.header(PacketType::kAbsorb, p.session);
    w.u32(p.receiver);
    w.u32(p.round);
    w.u32(p.rate_kbps);
    w.u32(p.backlog_kib);
    return out;
}

void encode_data_header(const Data& p, std::span<std::uint8_t, kDataHeaderSize> out) {
    std::uint8_t* o = out.data();
    put_u32(o, kMagic);
    o[4] = kVersion;
    o[5] = std::uint8_t(p.parity ? PacketType::kParity : PacketType::kData);
    o[6] = std::uint8_t(p.parity ? p.repair_index >> 8 : 0);
    o[7] = std::uint8_t(p.parity ? p.repair_index & 0xFF : 0);
    put_u32(o + 8, p.session);
    put_u32(o + 12, p.object);
    put_u32(o + 16, p.fragment);
    put_u32(o + 20, p.object_size);
}

std::vector<std::uint8_t> encode(const Data& p) {
    std::vector<std::uint8_t> out(kDataHeaderSize + p.payload.size());
    encode_data_header(p, std::span<std::uint8_t, kDataHeaderSize>(out.data(), kDataHeaderSize));
    if (!p.payload.empty())
        std::memcpy(out.data() + kDataHeaderSize, p.payload.data(), p.payload.size());
    return out;
}

std::uint32_t session_of(const Packet& p) {
    return std::visit([](const auto& x) { return x.session; }, p);
}

}  // namespace imaging::multicast
