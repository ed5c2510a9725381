// Network services a Dom0 gives a VM on its own interface (seed 003; SITE_FILE.md "Network
// services"): what the server wants a host's VMs to have, carried in Dom0Answer::netservices,
// and what an agent has installed, in ReportedVm::netservices. WIRE.md "Network services".
//
// The decoder is the agent's guard: every address, CIDR, protocol and rate is checked here,
// so what reaches nft and tc has the shape its field says.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "provisioner/wire/codec.h"

namespace provisioner::wire {

// {"proto": "tcp"|"udp"|"icmp", "port"?: 1..65535 (not for icmp), "from"?: IPv4 or CIDR}.
struct NetAllow {
    std::string proto;
    std::uint16_t port = 0;  // 0: any
    std::string from;        // "": anywhere
    bool operator==(const NetAllow&) const = default;
};

// {"type": "compress", "peer": IPv4, "to": [CIDR, ...] (at least one)}
// {"type": "rate-limit", "egress_bps"?: N, "ingress_bps"?: N} (at least one, 8000..1e11)
// {"type": "filter", "allow": [NetAllow, ...]} (may be empty: nothing may connect in)
struct NetService {
    enum class Kind { compress, rate_limit, filter };
    Kind kind = Kind::compress;
    std::string peer;
    std::vector<std::string> to;
    std::uint64_t egress_bps = 0;   // from the VM
    std::uint64_t ingress_bps = 0;  // to the VM
    std::vector<NetAllow> allow;
    bool operator==(const NetService&) const = default;
};
const char* to_string(NetService::Kind kind);  // the "type": "compress", "rate-limit", "filter"

// One line for people: "compress to 10.2.0.0/24 via 10.77.0.12", "rate-limit egress 100mbit",
// "filter allow tcp/22 tcp/80 from 10.0.0.0/8".
std::string describe(const NetService& service);

// {"vm": NAME, "services": [NetService, ...]}: at most one service of each type.
struct VmNetServices {
    std::string vm;
    std::vector<NetService> services;
    bool operator==(const VmNetServices&) const = default;
};

nlohmann::json encode(const NetService& service);
nlohmann::json encode(const VmNetServices& vm);

}  // namespace provisioner::wire
