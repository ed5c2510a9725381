#include "provisioner/selector.h"

#include <charconv>
#include <string>

namespace provisioner {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

Status bad(const std::string& why) {
    return Status::error(Code::invalid_argument, "bad selector: " + why);
}

}  // namespace

Result<HostFilter> parse_selector(std::string_view text) {
    HostFilter filter;
    text = trim(text);
    if (text.empty()) return bad("empty (use \"all\" for every host)");
    if (text == "all" || text == "*") return filter;
    if (text.find('=') == std::string_view::npos && text.find(',') == std::string_view::npos) {
        filter.name_glob = std::string(text);
        return filter;
    }
    while (!text.empty()) {
        const std::size_t comma = text.find(',');
        const std::string_view term = trim(text.substr(0, comma));
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        const std::size_t eq = term.find('=');
        if (eq == std::string_view::npos)
            return bad("\"" + std::string(term) + "\" is not key=value");
        const std::string key(trim(term.substr(0, eq)));
        const std::string value(trim(term.substr(eq + 1)));
        if (value.empty()) return bad("empty value for " + key);
        if (key == "name") {
            filter.name_glob = value;
        } else if (key == "rack") {
            filter.rack = value;
        } else if (key == "state") {
            filter.state = parse_host_state(value);
            if (!filter.state) return bad("unknown state \"" + value + "\"");
        } else if (key == "mac") {
            auto mac = Mac::parse(value);
            if (!mac) return bad(mac.status().message());
            filter.mac = *mac;
        } else if (key == "image") {
            ImageId id = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), id);
            if (ec != std::errc() || end != value.data() + value.size() || id <= 0)
                return bad("image must be an image id, got \"" + value + "\"");
            filter.image = id;
        } else {
            return bad("unknown key \"" + key + "\" (name, rack, state, mac, image)");
        }
    }
    return filter;
}

}  // namespace provisioner
