// The certificates of one BitTorrent deployment's swarm (imaging/torrent/peer_certs.h): a CA of
// its own, whose certificate goes into the deployment's torrent, a certificate for the seed, one
// for each host, and one for each rack of the hosts (the seed a rack server may run of its copy
// of the image inside that rack: rack_images.h), made when the deployment starts. The CA's key
// signs them and is then dropped: nothing can join that swarm later, and no CA key is ever on disk.
// A host's certificate and key reach only that host, in the job of its authenticated hello.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "imaging/torrent/peer_certs.h"
#include "provisioner/records.h"
#include "provisioner/status.h"

namespace provisioner::server {

struct SwarmCredentials {
    std::string ca_cert_pem;
    imaging::torrent::PeerCredentials seed;                     // CN "seed"
    std::map<HostId, imaging::torrent::PeerCredentials> hosts;  // CN the host's name
    // By rack (hosts with no rack have none): CN "rack R". Reaches a rack server only sealed
    // under the site key (ImagePeers::publish_torrents()).
    std::map<std::string, imaging::torrent::PeerCredentials> racks;
};

// The CN of a rack's seed certificate.
std::string rack_seed_name(const std::string& rack);

// name is for the CA's subject ("deployment of dom0@2"). EC P-256 throughout: a few
// milliseconds for a rack, so it runs on the request's thread, before any lock.
Result<SwarmCredentials> make_swarm_credentials(const std::string& name,
                                                const std::vector<Host>& hosts);

}  // namespace provisioner::server
