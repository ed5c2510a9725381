// Which rack a host is in, from its address: the longest configured prefix that contains it
// ("10.1.2.0/24 rack-a"), and otherwise its subnet (/24 for IPv4, /64 for IPv6), since a
// rack is usually one subnet behind one top-of-rack switch.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "imaging/status.h"

namespace imaging::torrent {

class RackMap {
public:
    // Adds "ADDR/LEN" as rack; an error for a malformed prefix.
    Status add(std::string_view cidr, std::string rack);
    std::string rack_of(const boost::asio::ip::address& ip) const;

private:
    struct Entry {
        boost::asio::ip::address network;
        int prefix_len;
        std::string rack;
    };
    std::vector<Entry> entries_;
};

// IPv4-mapped IPv6 addresses (a dual-stack listener's view of IPv4 peers) as IPv4.
boost::asio::ip::address normalize(const boost::asio::ip::address& ip);

}  // namespace imaging::torrent
