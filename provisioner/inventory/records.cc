#include "provisioner/records.h"

#include <arpa/inet.h>

#include <string>

namespace provisioner {
namespace {

template <class E, std::size_t N>
std::optional<E> parse_enum(std::string_view text, const E (&all)[N]) {
    for (E e : all)
        if (text == to_string(e)) return e;
    return std::nullopt;
}

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 1123: dot-separated labels of letters, digits and inner hyphens, 1-63 each, 253 total.
bool valid_hostname(std::string_view name) {
    if (name.empty() || name.size() > 253) return false;
    std::size_t label = 0;
    char prev = '.';
    for (char c : name) {
        if (c == '.') {
            if (label == 0 || prev == '-') return false;
            label = 0;
        } else if (is_alnum(c) || c == '-') {
            if (c == '-' && label == 0) return false;
            if (++label > 63) return false;
        } else {
            return false;
        }
        prev = c;
    }
    return label > 0 && prev != '-';
}

bool valid_ip(std::string_view ip) {
    const std::string s(ip);
    unsigned char buf[16];
    return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool valid_rack(std::string_view rack) {
    if (rack.size() > 64) return false;
    for (char c : rack)
        if (!is_alnum(c) && c != '.' && c != '_' && c != '-') return false;
    return true;
}

}  // namespace

Status validate_host_fields(std::string_view name, std::string_view ip, std::string_view rack) {
    if (!valid_hostname(name))
        return Status::error(Code::invalid_argument,
                             "bad name \"" + std::string(name) +
                                 "\": expected a host name (letters, digits, '-', '.')");
    if (!ip.empty() && !valid_ip(ip))
        return Status::error(Code::invalid_argument,
                             "bad IP \"" + std::string(ip) + "\": not an IPv4 or IPv6 address");
    if (!valid_rack(rack))
        return Status::error(
            Code::invalid_argument,
            "bad rack \"" + std::string(rack) + "\": up to 64 of letters, digits, '.', '_', '-'");
    return Status::ok();
}

const char* to_string(Transport t) {
    switch (t) {
        case Transport::delta:
            return "delta";
        case Transport::multicast:
            return "multicast";
        case Transport::torrent:
            return "torrent";
    }
    return "unknown";
}

std::optional<Transport> parse_transport(std::string_view text) {
    static const Transport all[] = {Transport::delta, Transport::multicast, Transport::torrent};
    return parse_enum(text, all);
}

const char* to_string(DeploymentState s) {
    switch (s) {
        case DeploymentState::running:
            return "running";
        case DeploymentState::succeeded:
            return "succeeded";
        case DeploymentState::failed:
            return "failed";
        case DeploymentState::interrupted:
            return "interrupted";
    }
    return "unknown";
}

std::optional<DeploymentState> parse_deployment_state(std::string_view text) {
    static const DeploymentState all[] = {DeploymentState::running, DeploymentState::succeeded,
                                          DeploymentState::failed, DeploymentState::interrupted};
    return parse_enum(text, all);
}

const char* to_string(TargetState s) {
    switch (s) {
        case TargetState::pending:
            return "pending";
        case TargetState::running:
            return "running";
        case TargetState::succeeded:
            return "succeeded";
        case TargetState::failed:
            return "failed";
    }
    return "unknown";
}

std::optional<TargetState> parse_target_state(std::string_view text) {
    static const TargetState all[] = {TargetState::pending, TargetState::running,
                                      TargetState::succeeded, TargetState::failed};
    return parse_enum(text, all);
}

}  // namespace provisioner
