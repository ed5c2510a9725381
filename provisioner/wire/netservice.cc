#include "provisioner/wire/netservice.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "netservice_codec.h"

namespace provisioner::wire {

using detail::Need;
using detail::Reader;
using nlohmann::json;

namespace {

constexpr std::uint64_t kMinRate = 8'000, kMaxRate = 100'000'000'000ULL;
constexpr std::size_t kMaxList = 256;  // CIDRs of a compress, rules of a filter

bool ipv4(const std::string& text) {
    in_addr parsed{};
    return inet_pton(AF_INET, text.c_str(), &parsed) == 1;
}

bool cidr(const std::string& text) {
    const auto slash = text.find('/');
    if (slash == std::string::npos) return ipv4(text);
    unsigned len = 99;
    const char* begin = text.data() + slash + 1;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(begin, end, len);
    return ec == std::errc() && ptr == end && begin != end && len <= 32 &&
           ipv4(text.substr(0, slash));
}

std::string rate_text(std::uint64_t bps) {
    if (bps % 1'000'000'000 == 0) return std::to_string(bps / 1'000'000'000) + "gbit";
    if (bps % 1'000'000 == 0) return std::to_string(bps / 1'000'000) + "mbit";
    if (bps % 1'000 == 0) return std::to_string(bps / 1'000) + "kbit";
    return std::to_string(bps) + "bit";
}

void read_allow(Reader r, NetAllow& out) {
    r.string("proto", out.proto, Need::required);
    r.unsigned_integer("port", out.port, Need::optional);
    r.string("from", out.from, Need::optional);
    if (!r.ok()) return;
    if (out.proto != "tcp" && out.proto != "udp" && out.proto != "icmp")
        r.fail("proto", "must be tcp, udp or icmp, not \"" + out.proto + "\"");
    else if (out.proto == "icmp" && out.port != 0)
        r.fail("port", "is not for icmp");
    else if (!out.from.empty() && !cidr(out.from))
        r.fail("from", "is not an IPv4 address or CIDR: \"" + out.from + "\"");
}

}  // namespace

const char* to_string(NetService::Kind kind) {
    switch (kind) {
        case NetService::Kind::compress:
            return "compress";
        case NetService::Kind::rate_limit:
            return "rate-limit";
        case NetService::Kind::filter:
            return "filter";
    }
    return "?";
}

std::string describe(const NetService& s) {
    std::string out = to_string(s.kind);
    switch (s.kind) {
        case NetService::Kind::compress:
            out += " to";
            for (const std::string& c : s.to) out += " " + c;
            out += " via " + s.peer;
            break;
        case NetService::Kind::rate_limit:
            if (s.egress_bps) out += " egress " + rate_text(s.egress_bps);
            if (s.ingress_bps) out += " ingress " + rate_text(s.ingress_bps);
            break;
        case NetService::Kind::filter:
            out += s.allow.empty() ? " allow nothing" : " allow";
            for (const NetAllow& a : s.allow) {
                out += " " + a.proto;
                if (a.port) out += "/" + std::to_string(a.port);
                if (!a.from.empty()) out += " from " + a.from;
            }
            break;
    }
    return out;
}

json encode(const NetService& s) {
    json out = {{"type", to_string(s.kind)}};
    switch (s.kind) {
        case NetService::Kind::compress:
            out["peer"] = s.peer;
            out["to"] = s.to;
            break;
        case NetService::Kind::rate_limit:
            if (s.egress_bps) out["egress_bps"] = s.egress_bps;
            if (s.ingress_bps) out["ingress_bps"] = s.ingress_bps;
            break;
        case NetService::Kind::filter: {
            json allow = json::array();
            for (const NetAllow& a : s.allow) {
                json rule = {{"proto", a.proto}};
                if (a.port) rule["port"] = a.port;
                if (!a.from.empty()) rule["from"] = a.from;
                allow.push_back(std::move(rule));
            }
            out["allow"] = std::move(allow);
            break;
        }
    }
    return out;
}

json encode(const VmNetServices& vm) {
    json services = json::array();
    for (const NetService& s : vm.services) services.push_back(encode(s));
    return {{"vm", vm.vm}, {"services", std::move(services)}};
}

namespace detail {

void read_netservice(Reader r, NetService& out) {
    std::string type;
    r.string("type", type, Need::required);
    if (!r.ok()) return;
    if (type == "compress") {
        out.kind = NetService::Kind::compress;
        r.string("peer", out.peer, Need::required);
        if (r.ok() && !ipv4(out.peer))
            r.fail("peer", "is not an IPv4 address: \"" + out.peer + "\"");
        const json* to = r.array("to", Need::required);
        if (!to) return;
        if (to->empty() || to->size() > kMaxList) return r.fail("to", "must hold 1 to 256 CIDRs");
        for (const json& c : *to) {
            if (!c.is_string() || !cidr(c.get<std::string>()))
                return r.fail("to", "holds something that is not an IPv4 CIDR: " + c.dump());
            out.to.push_back(c.get<std::string>());
        }
    } else if (type == "rate-limit") {
        out.kind = NetService::Kind::rate_limit;
        r.unsigned_integer("egress_bps", out.egress_bps, Need::optional, kMaxRate);
        r.unsigned_integer("ingress_bps", out.ingress_bps, Need::optional, kMaxRate);
        if (!r.ok()) return;
        if (!out.egress_bps && !out.ingress_bps)
            r.fail_message("a rate-limit needs egress_bps or ingress_bps");
        else if ((out.egress_bps && out.egress_bps < kMinRate) ||
                 (out.ingress_bps && out.ingress_bps < kMinRate))
            r.fail_message("a rate-limit's rates are at least 8000 bits/s");
    } else if (type == "filter") {
        out.kind = NetService::Kind::filter;
        const json* allow = r.array("allow", Need::optional);
        if (!allow) return;
        if (allow->size() > kMaxList) return r.fail("allow", "holds more than 256 rules");
        for (std::size_t i = 0; i < allow->size() && r.ok(); ++i)
            read_allow(r.element("allow", i, (*allow)[i]), out.allow.emplace_back());
    } else {
        r.fail("type", "must be compress, rate-limit or filter, not \"" + type + "\"");
    }
}

void read_vm_netservices(Reader r, VmNetServices& out) {
    r.nonempty_string("vm", out.vm, Need::required);
    const json* services = r.array("services", Need::required);
    if (!services) return;
    for (std::size_t i = 0; i < services->size() && r.ok(); ++i) {
        NetService& s = out.services.emplace_back();
        read_netservice(r.element("services", i, (*services)[i]), s);
        for (std::size_t j = 0; j + 1 < out.services.size() && r.ok(); ++j)
            if (out.services[j].kind == s.kind)
                r.fail("services", std::string("holds two of type ") + to_string(s.kind));
    }
}

}  // namespace detail

}  // namespace provisioner::wire
