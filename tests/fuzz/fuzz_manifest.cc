// Manifest::parse: a manifest arrives from the network (delta handshake, multicast object 0,
// a torrent's info) before its signature is checked.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "imaging/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto m = imaging::Manifest::parse({reinterpret_cast<const char*>(data), size});
    if (!m) return 0;
    (void)m->stored_bytes();
    (void)m->nonzero_raw_bytes();
    for (std::size_t i = 0; i < m->chunks.size(); ++i) (void)m->chunk_length(i);
    (void)m->to_json();
    return 0;
}
