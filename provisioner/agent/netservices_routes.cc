#include <arpa/inet.h>

#include <nlohmann/json.hpp>

#include "netservices_parts.h"

namespace provisioner::agent::netsvc {
namespace {

// The network of a CIDR as ip prints it back: host bits cleared, "/len" always.
std::string canonical(const std::string& cidr) {
    const std::string full = with_prefix(cidr);
    const auto slash = full.find('/');
    in_addr addr{};
    if (inet_pton(AF_INET, full.substr(0, slash).c_str(), &addr) != 1) return full;
    const int len = std::stoi(full.substr(slash + 1));
    const std::uint32_t mask = len == 0 ? 0 : ~std::uint32_t(0) << (32 - len);
    addr.s_addr = htonl(ntohl(addr.s_addr) & mask);
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &addr, text, sizeof text);
    return std::string(text) + "/" + std::to_string(len);
}

nlohmann::json listing(NetCommands& commands, const std::vector<std::string>& argv) {
    auto listed = commands.run(argv);
    if (!listed) return nlohmann::json::array();
    auto parsed = nlohmann::json::parse(*listed, nullptr, false);
    return parsed.is_array() ? parsed : nlohmann::json::array();
}

}  // namespace

std::string with_prefix(const std::string& cidr) {
    return cidr.find('/') == std::string::npos ? cidr + "/32" : cidr;
}

Status sync_routes(NetCommands& commands, const std::string& device,
                   const std::set<CompressRule>& rules) {
    std::set<CompressRule> wanted;
    std::set<std::string> networks;
    for (const CompressRule& r : rules) {
        wanted.insert({r.interface, canonical(r.cidr)});
        networks.insert(canonical(r.cidr));
    }
    std::set<CompressRule> present;
    for (const auto& rule : listing(commands, {"ip", "-j", "rule", "show"})) {
        if (!rule.is_object() || rule.value("table", "") != kRouteTable) continue;
        const std::string dst = rule.value("dst", "");
        const std::string cidr =
            canonical(dst + "/" + std::to_string(rule.value("dstlen", dst.empty() ? 0 : 32)));
        CompressRule found{rule.value("iif", ""), cidr};
        if (wanted.count(found)) {
            present.insert(found);
            continue;
        }
        std::vector<std::string> del = {"ip", "rule", "del", "pref", kRulePriority};
        if (!found.interface.empty()) del.insert(del.end(), {"iif", found.interface});
        if (!dst.empty()) del.insert(del.end(), {"to", cidr});
        del.insert(del.end(), {"table", kRouteTable});
        (void)commands.run(del);
    }
    for (const auto& route :
         listing(commands, {"ip", "-j", "route", "show", "table", kRouteTable})) {
        if (!route.is_object()) continue;
        const std::string dst = route.value("dst", "");
        if (dst.empty() || (networks.count(canonical(dst)) && route.value("dev", "") == device))
            continue;
        (void)commands.run({"ip", "route", "del", dst, "table", kRouteTable});
    }
    for (const std::string& network : networks)
        if (auto r = commands.run(
                {"ip", "route", "replace", network, "dev", device, "table", kRouteTable});
            !r)
            return r.status();
    for (const CompressRule& r : wanted) {
        if (present.count(r)) continue;
        if (auto added = commands.run({"ip", "rule", "add", "pref", kRulePriority, "iif",
                                       r.interface, "to", r.cidr, "table", kRouteTable});
            !added)
            return added.status();
    }
    return Status::ok();
}

}  // namespace provisioner::agent::netsvc
