#include "provisioner/agent/network.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>

#include "imaging/http/client.h"

namespace provisioner::agent {
namespace fs = std::filesystem;
using imaging::Result;
using imaging::Status;

std::string normalize_mac(std::string_view text) {
    std::string mac;
    int digits = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (std::isxdigit(c)) {
            if (digits == 2) return "";
            mac += static_cast<char>(std::tolower(c));
            ++digits;
        } else if ((c == ':' || c == '-') && digits == 2 && mac.size() < 17) {
            mac += ':';
            digits = 0;
        } else {
            return "";
        }
    }
    return mac.size() == 17 && digits == 2 ? mac : "";
}

Result<std::uint32_t> server_ipv4(const std::string& server_url) {
    auto url = imaging::http::parse_http_url(server_url);
    if (!url) return Status::error("server \"" + server_url + "\": want http://HOST[:PORT]");
    in_addr addr{};
    if (::inet_pton(AF_INET, url->host.c_str(), &addr) == 1) return ntohl(addr.s_addr);
    addrinfo hints{};
    hints.ai_family = AF_INET;
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(url->host.c_str(), nullptr, &hints, &found); rc != 0 || !found)
        return Status::error("resolving " + url->host + ": " + ::gai_strerror(rc));
    std::uint32_t ip = ntohl(reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr.s_addr);
    ::freeaddrinfo(found);
    return ip;
}

Result<std::string> route_interface(const fs::path& root, std::uint32_t address) {
    std::ifstream in(root / "proc/net/route");
    if (!in) return imaging::errno_status("reading " + (root / "proc/net/route").string());
    constexpr unsigned kRouteUp = 0x1;
    std::string best;
    int best_prefix = -1;
    long best_metric = 0;
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string iface, dest_hex, gateway_hex, flags_hex, refcnt, use, mask_hex;
        long metric = 0;
        if (!(fields >> iface >> dest_hex >> gateway_hex >> flags_hex >> refcnt >> use >> metric >>
              mask_hex))
            continue;
        // The kernel prints each address as the hex of its network-order bytes read as a
        // native integer, so ntohl of that integer is the address in host order.
        std::uint32_t dest = 0, mask = 0, flags = 0;
        try {
            dest = ntohl(std::uint32_t(std::stoul(dest_hex, nullptr, 16)));
            mask = ntohl(std::uint32_t(std::stoul(mask_hex, nullptr, 16)));
            flags = std::uint32_t(std::stoul(flags_hex, nullptr, 16));
        } catch (const std::exception&) {
            continue;
        }
        if (!(flags & kRouteUp) || (address & mask) != dest) continue;
        int prefix = __builtin_popcount(mask);
        if (prefix > best_prefix || (prefix == best_prefix && metric < best_metric)) {
            best = iface;
            best_prefix = prefix;
            best_metric = metric;
        }
    }
    if (best.empty()) {
        in_addr a{htonl(address)};
        return Status::error(std::string("no route to ") + ::inet_ntoa(a));
    }
    return best;
}

Result<std::string> interface_mac(const fs::path& root, const std::string& name) {
    fs::path file = root / "sys/class/net" / name / "address";
    std::ifstream in(file);
    std::string text;
    if (!in || !(in >> text)) return imaging::errno_status("reading " + file.string());
    std::string mac = normalize_mac(text);
    if (mac.empty()) return Status::error(file.string() + ": \"" + text + "\" is no MAC");
    return mac;
}

Result<std::string> interface_with_mac(const fs::path& root, const std::string& mac) {
    std::error_code ec;
    for (fs::directory_iterator it(root / "sys/class/net", ec), end; !ec && it != end;
         it.increment(ec)) {
        std::string name = it->path().filename().string();
        auto found = interface_mac(root, name);
        if (found && *found == mac) return name;
    }
    return Status::error("no network interface has MAC " + mac);
}

}  // namespace provisioner::agent
