#include "receipt.h"

#include <vector>

namespace imaging::multicast {

Mac receipt_proof(const Secret& key, std::uint32_t session, std::uint32_t receiver,
                  std::span<const std::uint8_t> image_sha256, std::string_view id) {
    const Secret k = derive_key(key, "provisioner multicast receipt v1");
    std::vector<std::uint8_t> msg;
    for (std::uint32_t v : {session, receiver})
        for (int shift = 24; shift >= 0; shift -= 8) msg.push_back(std::uint8_t(v >> shift));
    msg.insert(msg.end(), image_sha256.begin(), image_sha256.end());
    msg.insert(msg.end(), id.begin(), id.end());
    return hmac_sha256(k, msg);
}

}  // namespace imaging::multicast
