#include "validate.h"

#include <arpa/inet.h>

#include <cctype>

namespace pxe::detail {

using base::Status;

namespace {

Status bad(const std::string& field, const std::string& value, const std::string& want) {
    return Status::error(field + " \"" + value + "\": " + want);
}

bool all_of(const std::string& s, bool (*ok)(unsigned char)) {
    for (unsigned char c : s)
        if (!ok(c)) return false;
    return true;
}

}  // namespace

Status check_ipv4(const std::string& field, const std::string& value) {
    in_addr addr{};
    if (inet_pton(AF_INET, value.c_str(), &addr) != 1)
        return bad(field, value, "not an IPv4 address");
    return Status::ok();
}

Status check_absolute_path(const std::string& field, const std::string& value) {
    if (value.empty() || value[0] != '/') return bad(field, value, "want an absolute path");
    auto ok = [](unsigned char c) { return std::isprint(c) && c != ',' && c != '"' && c != '#'; };
    if (!all_of(value, ok)) return bad(field, value, "has a character dnsmasq would misread");
    return Status::ok();
}

Status check_hostname(const std::string& field, const std::string& value) {
    auto ok = [](unsigned char c) { return std::isalnum(c) || c == '-'; };
    if (value.empty() || value.size() > 63 || !all_of(value, ok) || value.front() == '-' ||
        value.back() == '-')
        return bad(field, value, "want letters, digits and '-' (1 to 63, RFC 1123)");
    return Status::ok();
}

Status check_http_url(const std::string& field, const std::string& value) {
    if (value.rfind("http://", 0) != 0 && value.rfind("https://", 0) != 0)
        return bad(field, value, "want an http:// or https:// URL");
    auto ok = [](unsigned char c) {
        return std::isgraph(c) && c != ',' && c != '"' && c != '\'' && c != '$' && c != '#';
    };
    if (!all_of(value, ok)) return bad(field, value, "has a character not allowed in a URL here");
    return Status::ok();
}

Status check_plain(const std::string& field, const std::string& value) {
    auto ok = [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '/' || c == ':' ||
               c == '+' || c == '@';
    };
    if (value.empty() || !all_of(value, ok))
        return bad(field, value, "want letters, digits, -._/:+@");
    return Status::ok();
}

}  // namespace pxe::detail
