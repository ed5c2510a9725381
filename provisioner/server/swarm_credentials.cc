#include "swarm_credentials.h"

namespace provisioner::server {

std::string rack_seed_name(const std::string& rack) {
    return "rack " + rack;
}

Result<SwarmCredentials> make_swarm_credentials(const std::string& name,
                                                const std::vector<Host>& hosts) {
    namespace torrent = imaging::torrent;
    auto ca = torrent::make_swarm_ca(name);
    if (!ca) return Status::error(Code::storage, "the swarm's CA: " + ca.status().message());
    SwarmCredentials out;
    out.ca_cert_pem = ca->cert_pem;
    auto seed = torrent::issue_peer_cert(*ca, "seed");
    if (!seed) return Status::error(Code::storage, seed.status().message());
    out.seed = std::move(*seed);
    for (const Host& h : hosts) {
        auto cert = torrent::issue_peer_cert(*ca, h.name);
        if (!cert) return Status::error(Code::storage, cert.status().message());
        out.hosts.emplace(h.id, std::move(*cert));
        if (h.rack.empty() || out.racks.contains(h.rack)) continue;
        auto rack = torrent::issue_peer_cert(*ca, rack_seed_name(h.rack));
        if (!rack) return Status::error(Code::storage, rack.status().message());
        out.racks.emplace(h.rack, std::move(*rack));
    }
    return out;
}

}  // namespace provisioner::server
