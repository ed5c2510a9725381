#include "control_auth.h"

namespace imaging::multicast {

namespace {
constexpr std::size_t kTypeOffset = 5;
}

bool is_control(std::span<const std::uint8_t> datagram) {
    if (datagram.size() <= kTypeOffset) return true;  // too short for anything: check it as control
    auto type = PacketType(datagram[kTypeOffset]);
    return type != PacketType::kData && type != PacketType::kParity;
}

ControlAuth::ControlAuth(const Secret& secret)
    : key_(derive_key(secret, "provisioner multicast control v1")) {}

void ControlAuth::seal(std::vector<std::uint8_t>& datagram) {
    std::uint64_t c = next_counter_++;
    for (int i = 7; i >= 0; --i) datagram.push_back(std::uint8_t(c >> (8 * i)));
    Mac tag = hmac_sha256(key_, datagram);
    datagram.insert(datagram.end(), tag.begin(), tag.begin() + kAuthTagSize);
}

std::optional<ControlAuth::Opened> ControlAuth::open(std::span<const std::uint8_t> datagram) const {
    if (datagram.size() < kCommonHeaderSize + kAuthTrailerSize) return std::nullopt;
    const std::size_t signed_size = datagram.size() - kAuthTagSize;
    Mac tag = hmac_sha256(key_, datagram.first(signed_size));
    if (!equal_tags(std::span(tag).first(kAuthTagSize), datagram.subspan(signed_size)))
        return std::nullopt;
    Opened o;
    o.datagram = datagram.first(signed_size - kAuthCounterSize);
    for (std::size_t i = 0; i < kAuthCounterSize; ++i)
        o.counter = (o.counter << 8) | o.datagram.data()[o.datagram.size() + i];
    return o;
}

bool ControlAuth::fresh(std::uint32_t origin, std::uint64_t counter) {
    auto [it, inserted] = highest_.try_emplace(origin, counter);
    if (inserted) return true;
    if (counter <= it->second) return false;
    it->second = counter;
    return true;
}

std::uint32_t origin_of(const Packet& p) {
    // A receiver's datagram naming receiver 0 (refused by the engines anyway) must not count
    // against the sender's counter: give it an origin of its own.
    if (auto* n = std::get_if<Nack>(&p)) return n->receiver ? n->receiver : 0xFFFFFFFFu;
    if (auto* s = std::get_if<StatusReport>(&p)) return s->receiver ? s->receiver : 0xFFFFFFFFu;
    if (auto* r = std::get_if<Receipt>(&p)) return r->receiver ? r->receiver : 0xFFFFFFFFu;
    if (auto* a = std::get_if<Absorb>(&p)) return a->receiver ? a->receiver : 0xFFFFFFFFu;
    return kSenderOrigin;
}

}  // namespace imaging::multicast
