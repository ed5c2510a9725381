// The delta receiver's side of the wire: everything a delta server sends (the challenge, the
// signed manifest, signature replies, whole frames and literal ranges, errors) comes from
// whoever answers on the provisioning LAN. The input is a mode byte and the server's bytes
// (delta_reply_harness.h); the receiver runs over a socketpair into a temporary directory.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "delta_reply_harness.h"
#include "imaging/digest.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static delta_reply::Fixture fixture;
    static const std::vector<std::uint8_t> image = delta_reply::new_image();
    static const imaging::Digest digest = imaging::sha256(image);
    if (size == 0) return 0;
    auto report = fixture.replay(data[0], std::span(data + 1, size - 1));
    // Success only with the signed image on disk, whatever the server said.
    if (report && (report->sha256 != digest || delta_reply::read_file(fixture.output()) != image))
        __builtin_trap();
    return 0;
}
