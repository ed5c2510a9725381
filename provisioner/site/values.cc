#include "values.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "provisioner/mac.h"

namespace provisioner::site {
namespace {

Status bad(std::string message) {
    return invalid_value(std::move(message));
}

std::string quoted(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

}  // namespace

std::string_view trim(std::string_view text) {
    const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!text.empty() && blank(text.front())) text.remove_prefix(1);
    while (!text.empty() && blank(text.back())) text.remove_suffix(1);
    return text;
}

Result<std::uint64_t> parse_count(std::string_view text, std::uint64_t min, std::uint64_t max) {
    const std::string_view t = trim(text);
    const std::string range = " (expected a whole number from " + std::to_string(min) + " to " +
                              std::to_string(max) + ")";
    if (t.empty()) return bad("empty value" + range);
    for (char c : t)
        if (!std::isdigit(static_cast<unsigned char>(c)))
            return bad(quoted(t) + " is not a number" + range);
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
    if (ec != std::errc() || end != t.data() + t.size() || value < min || value > max)
        return bad(quoted(t) + " is out of range" + range);
    return value;
}

Result<double> parse_fraction(std::string_view text) {
    const std::string t(trim(text));
    char* end = nullptr;
    const double value = t.empty() ? 0 : std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size() || !(value > 0 && value <= 1))
        return bad(quoted(t) + " is not a fraction in (0, 1] such as 0.75");
    return value;
}

Result<std::string> parse_ip(std::string_view text) {
    const std::string_view t = trim(text);
    if (t.size() == 4) {
        std::string lower;
        for (char c : t) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower == "dhcp") return lower;
    }
    const std::string address(ip_address(t));
    in_addr parsed{};
    if (inet_pton(AF_INET, address.c_str(), &parsed) != 1)
        return bad(quoted(t) + " is neither DHCP nor an IPv4 address");
    if (address.size() != t.size()) {
        const auto prefix = parse_count(t.substr(address.size() + 1), 0, 32);
        if (!prefix) return bad(quoted(t) + ": bad prefix length (expected 0 to 32)");
    }
    return std::string(t);
}

std::string_view ip_address(std::string_view ip) {
    return ip.substr(0, ip.find('/'));
}

Result<std::string> parse_hwaddr(std::string_view text) {
    auto mac = Mac::parse(text);
    if (!mac)
        return bad(quoted(trim(text)) + " is not a usable MAC address: " + mac.status().message());
    return mac->str();
}

Result<TemplateRef> parse_template_name(std::string_view text) {
    const std::string_view t = trim(text);
    const auto at = t.find('@');
    TemplateRef ref;
    ref.kind = TemplateRef::Kind::name;
    ref.name = std::string(t.substr(0, at));
    if (at != std::string_view::npos) ref.version = std::string(t.substr(at + 1));
    if (!valid_name(ref.name) || (at != std::string_view::npos && !valid_name(ref.version)))
        return bad(quoted(t) + " is not a template reference (expected name or name@version)");
    return ref;
}

Result<TemplateRef> parse_template_labels(std::string_view text) {
    TemplateRef ref;
    ref.kind = TemplateRef::Kind::labels;
    ref.labels = split_names(text);
    if (ref.labels.empty()) return bad("a label query needs at least one label");
    for (const std::string& label : ref.labels) {
        const bool ok = std::all_of(label.begin(), label.end(), [](char c) {
            return name_char(c) || c == ':' || c == '/' || c == '+';
        });
        if (!ok || label.size() > 64)
            return bad(quoted(label) + " is not a label ([A-Za-z0-9._:/+-]+)");
    }
    // The template store's canonical form (vmhost/template_ref.h): sorted, each once.
    std::sort(ref.labels.begin(), ref.labels.end());
    ref.labels.erase(std::unique(ref.labels.begin(), ref.labels.end()), ref.labels.end());
    return ref;
}

std::vector<std::string> split_names(std::string_view text) {
    std::vector<std::string> names;
    std::string current;
    for (char c : text) {
        if (c == ' ' || c == ',' || c == '\t' || c == '\n' || c == '\r') {
            if (!current.empty()) names.push_back(std::move(current));
            current.clear();
        } else {
            current += c;
        }
    }
    if (!current.empty()) names.push_back(std::move(current));
    return names;
}

bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name)
        if (!name_char(c)) return false;
    return true;
}

Status invalid_value(std::string message) {
    return Status::error(Code::invalid_argument, std::move(message));
}

}  // namespace provisioner::site
