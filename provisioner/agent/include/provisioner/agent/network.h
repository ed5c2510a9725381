// The host's own network identity as the agent needs it: the NIC that routes to the server
// (its MAC identifies the host; multicast listens on it). Reads ROOT/proc/net/route and
// ROOT/sys/class/net/*/address, so tests hand it a fake tree.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "imaging/status.h"

namespace provisioner::agent {

// "52-54-00-AB-CD-EF" or "52:54:00:ab:cd:ef" -> "52:54:00:ab:cd:ef"; "" when it is no MAC.
std::string normalize_mac(std::string_view text);

// The host part of an http:// URL resolved to an IPv4 address (host byte order).
imaging::Result<std::uint32_t> server_ipv4(const std::string& server_url);

// The interface /proc/net/route sends `address` (host byte order) through: the longest
// matching prefix, then the lowest metric.
imaging::Result<std::string> route_interface(const std::filesystem::path& root,
                                             std::uint32_t address);

// The MAC of interface `name` (ROOT/sys/class/net/NAME/address), normalized.
imaging::Result<std::string> interface_mac(const std::filesystem::path& root,
                                           const std::string& name);

// The interface whose MAC is `mac`, or an error.
imaging::Result<std::string> interface_with_mac(const std::filesystem::path& root,
                                                const std::string& mac);

}  // namespace provisioner::agent
