// multicast::decode: every datagram on the group goes through it first.
#include <cstddef>
#include <cstdint>
#include <span>

#include "multicast/packet.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto decoded = imaging::multicast::decode(std::span<const std::uint8_t>(data, size));
    (void)decoded.ok();
    return 0;
}
