// The delta receiver's side of the wire: everything a delta server sends (the challenge, the
// signed manifest, signature replies, whole frames and literal ranges, errors) comes from
// whoever answers on the provisioning LAN. The input is a mode byte and the server's bytes
// (delta_reply_harness.h); the receiver runs over a socketpair into a temporary directory. With
// the mode's kPack bit, the pack receiver (a rack server's image cache) runs instead.
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "delta_reply_harness.h"
#include "imaging/digest.h"
#include "imaging/packed_image.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static delta_reply::Fixture fixture;
    static const std::vector<std::uint8_t> image = delta_reply::new_image();
    static const imaging::Digest digest = imaging::sha256(image);
    if (size == 0) return 0;
    if (data[0] & delta_reply::kPack) {
        auto pack = fixture.replay_pack(data[0], std::span(data + 1, size - 1));
        if (!pack) return 0;
        // Success only with a pack of the signed image in place, whatever the server said.
        auto made = imaging::PackedImage::open(fixture.pack_dir(), fixture.key());
        if (!made || (*made)->manifest().image_sha256 != digest) __builtin_trap();
        const imaging::Manifest& m = (*made)->manifest();
        std::vector<std::uint8_t> raw;
        for (std::size_t i = 0; i < m.chunks.size(); ++i) {
            raw.resize(m.chunk_length(i));
            if (!m.chunks[i].is_zero() && !(*made)->read_chunk(i, raw)) __builtin_trap();
            if (m.chunks[i].is_zero()) std::fill(raw.begin(), raw.end(), 0);
            if (!std::equal(raw.begin(), raw.end(), image.begin() + std::ptrdiff_t(m.chunk_offset(i))))
                __builtin_trap();
        }
        return 0;
    }
    auto report = fixture.replay(data[0], std::span(data + 1, size - 1));
    // Success only with the signed image on disk, whatever the server said.
    if (report && (report->sha256 != digest || delta_reply::read_file(fixture.output()) != image))
        __builtin_trap();
    return 0;
}
