// A .torrent as the receiver fetches it (over HTTP, from the server's URL in the job):
// libtorrent's bdecoder, then our checks of its signed manifest against the torrent.
#include <cstddef>
#include <cstdint>
#include <span>

#include "imaging/torrent/image_torrent.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto t = imaging::torrent::load_image_torrent_unverified(
        std::span<const char>(reinterpret_cast<const char*>(data), size));
    (void)t.is_ok();
    return 0;
}
