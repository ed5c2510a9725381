// Where a peer server serves an image by delta, and the key it lets peers in with
// (image_peers.h publishes and reads them; rack_image_cache.h fetches from them).
#pragma once

#include <string>
#include <vector>

#include "imaging/secret.h"

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

}  // namespace provisioner::server
