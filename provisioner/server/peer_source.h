// Where a peer server serves an image by delta, and the key it lets peers in with
// (image_peers.h publishes and reads them; rack_image_cache.h fetches from them).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "imaging/secret.h"
#include "imaging/torrent/peer_certs.h"

namespace provisioner::server {

struct PeerSource {
    std::string server;       // the peer's server id
    std::string address;      // ADDR:PORT of its delta server of the image
    std::string receiver_id;  // the id the key is for (delivery.h)
    imaging::Secret key{};    // receiver_key(that delta server's secret, receiver_id)
    // That delta server's secret, from which the owner of a deployment derives the keys of
    // the hosts it sends to that server (per-rack imaging: rack_images.h).
    imaging::Secret master{};
};

// Where a rack server multicasts its copy of a deployment's image to its rack's hosts (issue
// 20, item 4: image_peers.h publishes and reads it; the deployment's owner names it in the jobs
// of that rack's hosts). The session's secret authenticates its packets; each host's receipt
// key derives from receipt_master (receiver_key(receipt_master, "DEPLOYMENT/HOST")), so the
// rack server's delivery log proves which host got the image.
struct MulticastSource {
    std::string server;  // the rack server's id
    std::string group;   // the multicast group
    std::uint16_t port = 0;
    imaging::Secret secret{};
    imaging::Secret receipt_master{};
};

// What a rack server needs to seed a BitTorrent deployment's image inside its racks (issue 20,
// item 4), as the deployment's owner publishes it (ImagePeers::publish_torrents()): the torrent
// (public: every host fetches it) and, for each rack of the deployment's unfinished hosts that a
// live rack server serves, a seed certificate and key signed by the swarm's CA
// (swarm_credentials.h; secret: sealed under the site key, bound to server, deployment, rack and
// info-hash).
struct RackTorrentOffer {
    std::string info_hash_hex;  // the torrent's (40 hex digits)
    std::string torrent;        // the .torrent's bytes
    std::map<std::string, imaging::torrent::PeerCredentials> racks;
};

// Where a rack server seeds a deployment's image, for its racks (ImagePeers::
// publish_torrent_seeds()): the owner's tracker tells those racks' hosts this seed first.
struct RackTorrentSeed {
    std::string address;  // ADDR:PORT
    std::set<std::string> racks;
};

}  // namespace provisioner::server
