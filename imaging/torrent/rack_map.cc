#include "imaging/torrent/rack_map.h"

#include <array>
#include <charconv>

namespace imaging::torrent {
namespace {

namespace ip = boost::asio::ip;

// Bytes of the address in network order (4 or 16).
std::vector<unsigned char> address_bytes(const ip::address& a) {
    if (a.is_v4()) {
        auto b = a.to_v4().to_bytes();
        return {b.begin(), b.end()};
    }
    auto b = a.to_v6().to_bytes();
    return {b.begin(), b.end()};
}

bool prefix_matches(const ip::address& a, const ip::address& network, int len) {
    if (a.is_v4() != network.is_v4()) return false;
    auto x = address_bytes(a), y = address_bytes(network);
    for (int bit = 0; bit < len; ++bit) {
        int byte = bit / 8, shift = 7 - bit % 8;
        if (((x[byte] >> shift) & 1) != ((y[byte] >> shift) & 1)) return false;
    }
    return true;
}

std::string subnet_name(const ip::address& a) {
    auto b = address_bytes(a);
    int keep = a.is_v4() ? 3 : 8;
    for (std::size_t i = keep; i < b.size(); ++i) b[i] = 0;
    if (a.is_v4()) {
        std::array<unsigned char, 4> v4{b[0], b[1], b[2], b[3]};
        return "subnet " + ip::address_v4(v4).to_string() + "/24";
    }
    std::array<unsigned char, 16> v6{};
    std::copy(b.begin(), b.end(), v6.begin());
    return "subnet " + ip::address_v6(v6).to_string() + "/64";
}

}  // namespace

ip::address normalize(const ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
        return ip::make_address_v4(ip::v4_mapped, a.to_v6());
    }
    return a;
}

Status RackMap::add(std::string_view cidr, std::string rack) {
    auto slash = cidr.find('/');
    if (slash == std::string_view::npos) return Status::error("rack prefix '" + std::string(cidr) + "' has no /LEN");
    boost::system::error_code ec;
    auto network = ip::make_address(std::string(cidr.substr(0, slash)), ec);
    int len = -1;
    auto lenstr = cidr.substr(slash + 1);
    auto [end, err] = std::from_chars(lenstr.data(), lenstr.data() + lenstr.size(), len);
    int max = network.is_v4() ? 32 : 128;
    if (ec || err != std::errc() || end != lenstr.data() + lenstr.size() || len < 0 || len > max) {
        return Status::error("bad rack prefix '" + std::string(cidr) + "'");
    }
    entries_.push_back({normalize(network), len, std::move(rack)});
    return Status::ok();
}

std::string RackMap::rack_of(const ip::address& raw) const {
    auto a = normalize(raw);
    const Entry* best = nullptr;
    for (const auto& e : entries_) {
        if (prefix_matches(a, e.network, e.prefix_len) && (!best || e.prefix_len > best->prefix_len)) {
            best = &e;
        }
    }
    return best ? best->rack : subnet_name(a);
}

}  // namespace imaging::torrent
