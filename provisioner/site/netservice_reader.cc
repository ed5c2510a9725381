#include "netservice_reader.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "values.h"

namespace provisioner::site {
namespace {

constexpr std::uint64_t kMinRate = 8'000;               // 8 kbit/s: below it tbf is useless
constexpr std::uint64_t kMaxRate = 100'000'000'000ULL;  // 100 gbit/s

class NetServiceReader {
  public:
    NetServiceReader(const LineIndex& lines, Vm& vm, std::vector<Problem>& problems)
        : lines_(lines), vm_(vm), problems_(problems) {}

    void read(const pugi::xml_node& node) {
        const std::string type = node.attribute("type").value();
        NetService service;
        service.line = lines_.line_of(node.offset_debug());
        if (type == "compress") {
            service.kind = NetService::Kind::compress;
            only(node, {"type", "peer", "to"});
            no_children(node);
            read_compress(node, service);
        } else if (type == "rate-limit") {
            service.kind = NetService::Kind::rate_limit;
            only(node, {"type", "egress", "ingress"});
            no_children(node);
            read_rate_limit(node, service);
        } else if (type == "filter") {
            service.kind = NetService::Kind::filter;
            only(node, {"type"});
            read_filter(node, service);
        } else {
            problem(node,
                    "<NETSERVICE> type " +
                        std::string(type.empty() ? "is missing" : "\"" + type + "\" is unknown") +
                        " (expected compress, rate-limit or filter)");
            return;
        }
        for (const NetService& other : vm_.netservices)
            if (other.kind == service.kind) {
                problem(node, "a second <NETSERVICE type=\"" + type + "\"> (first at line " +
                                  std::to_string(other.line) + ")");
                return;
            }
        vm_.netservices.push_back(std::move(service));
    }

  private:
    void problem(const pugi::xml_node& node, const std::string& message) {
        problems_.push_back(
            {lines_.line_of(node.offset_debug()), "VM " + vm_.name + ": " + message});
    }

    void only(const pugi::xml_node& node, std::initializer_list<std::string_view> known) {
        for (const pugi::xml_attribute& attr : node.attributes())
            if (std::find(known.begin(), known.end(), std::string_view(attr.name())) == known.end())
                problem(node, "unknown attribute " + std::string(attr.name()) + " on <" +
                                  node.name() + ">");
    }

    void no_children(const pugi::xml_node& node) {
        for (const pugi::xml_node& child : node.children())
            if (child.type() == pugi::node_element)
                problem(child, "<NETSERVICE type=\"" + std::string(node.attribute("type").value()) +
                                   "\"> holds no <" + child.name() + ">");
            else if (child.type() == pugi::node_pcdata && !trim(child.value()).empty())
                problem(node, "<NETSERVICE> holds no text");
    }

    void read_compress(const pugi::xml_node& node, NetService& service) {
        const auto peer = node.attribute("peer");
        if (!peer) {
            problem(node, "compress needs peer=\"the peer Dom0's IPv4 address\"");
        } else if (auto ip = parse_ip(peer.value());
                   !ip || *ip == "dhcp" || ip->find('/') != std::string::npos) {
            problem(node, "compress: peer \"" + std::string(peer.value()) +
                              "\" is not an IPv4 address (the peer Dom0's)");
        } else {
            service.peer = *ip;
        }
        const auto to = node.attribute("to");
        if (!to)
            problem(node, "compress needs to=\"CIDR ...\": the remote addresses to compress for");
        for (const std::string& word : split_names(to.value())) {
            if (auto cidr = parse_cidr(word))
                service.to.push_back(*cidr);
            else
                problem(node, "compress: to " + cidr.status().message());
        }
        if (to && service.to.empty() && split_names(to.value()).empty())
            problem(node, "compress: to is empty");
    }

    void read_rate_limit(const pugi::xml_node& node, NetService& service) {
        for (const char* side : {"egress", "ingress"}) {
            const auto attr = node.attribute(side);
            if (!attr) continue;
            auto rate = parse_rate(attr.value());
            if (!rate) {
                problem(node, std::string("rate-limit: ") + side + " " + rate.status().message());
                continue;
            }
            (std::string_view(side) == "egress" ? service.egress_bps : service.ingress_bps) = *rate;
        }
        if (!node.attribute("egress") && !node.attribute("ingress"))
            problem(node,
                    "rate-limit needs egress=\"RATE\", ingress=\"RATE\" or both (e.g. 100mbit)");
    }

    void read_filter(const pugi::xml_node& node, NetService& service) {
        for (const pugi::xml_node& child : node.children()) {
            if (child.type() == pugi::node_pcdata && !trim(child.value()).empty())
                problem(node, "<NETSERVICE> holds no text");
            if (child.type() != pugi::node_element) continue;
            if (std::string_view(child.name()) != "ALLOW") {
                problem(child, "unknown element <" + std::string(child.name()) +
                                   "> in <NETSERVICE type=\"filter\"> (expected ALLOW)");
                continue;
            }
            only(child, {"proto", "port", "from"});
            NetAllow rule;
            rule.line = lines_.line_of(child.offset_debug());
            rule.proto = child.attribute("proto").value();
            if (rule.proto != "tcp" && rule.proto != "udp" && rule.proto != "icmp")
                problem(child, "<ALLOW> proto \"" + rule.proto + "\" (expected tcp, udp or icmp)");
            if (auto port = child.attribute("port")) {
                if (rule.proto == "icmp")
                    problem(child, "<ALLOW proto=\"icmp\"> takes no port");
                else if (auto n = parse_count(port.value(), 1, 65535))
                    rule.port = static_cast<std::uint16_t>(*n);
                else
                    problem(child, "<ALLOW> port " + n.status().message());
            }
            if (auto from = child.attribute("from")) {
                if (auto cidr = parse_cidr(from.value()))
                    rule.from = *cidr;
                else
                    problem(child, "<ALLOW> from " + cidr.status().message());
            }
            service.allow.push_back(std::move(rule));
        }
    }

    const LineIndex& lines_;
    Vm& vm_;
    std::vector<Problem>& problems_;
};

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

Result<std::uint64_t> parse_rate(std::string_view text) {
    const std::string t(trim(text));
    const std::string expected =
        " (expected a rate such as 100mbit: bit, kbit, mbit or gbit, "
        "from 8kbit to 100gbit)";
    char* end = nullptr;
    const double number = t.empty() ? -1 : std::strtod(t.c_str(), &end);
    if (t.empty() || end == t.c_str() || !(number > 0) || !std::isfinite(number))
        return invalid_value("\"" + t + "\" is not a rate" + expected);
    std::string unit(end);
    std::transform(unit.begin(), unit.end(), unit.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    double scale = 0;
    if (unit == "bit")
        scale = 1;
    else if (unit == "kbit")
        scale = 1e3;
    else if (unit == "mbit")
        scale = 1e6;
    else if (unit == "gbit")
        scale = 1e9;
    else
        return invalid_value("\"" + t + "\": unknown unit \"" + unit + "\"" + expected);
    const double bits = number * scale;
    if (bits < double(kMinRate) || bits > double(kMaxRate))
        return invalid_value("\"" + t + "\" is out of range" + expected);
    return static_cast<std::uint64_t>(std::llround(bits));
}

Result<std::string> parse_cidr(std::string_view text) {
    const std::string t(trim(text));
    const std::string address = t.substr(0, t.find('/'));
    in_addr parsed{};
    if (inet_pton(AF_INET, address.c_str(), &parsed) != 1)
        return invalid_value("\"" + t + "\" is not an IPv4 address or a.b.c.d/len network");
    if (address.size() != t.size()) {
        if (!parse_count(std::string_view(t).substr(address.size() + 1), 0, 32))
            return invalid_value("\"" + t + "\": bad prefix length (expected 0 to 32)");
    }
    return t;
}

void read_netservice(const pugi::xml_node& node, const LineIndex& lines, Vm& vm,
                     std::vector<Problem>& problems) {
    NetServiceReader(lines, vm, problems).read(node);
}

}  // namespace provisioner::site
