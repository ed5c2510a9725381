// The built-in tracker's GET /announce: its query string, from any host on the LAN.
#include <cstddef>
#include <cstdint>
#include <string>

#include "imaging/http/query.h"
#include "imaging/torrent/tracker_http.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string target = "/announce?" + std::string(reinterpret_cast<const char*>(data), size);
    auto query = imaging::http::parse_query(target);
    if (!query) return 0;
    (void)imaging::torrent::parse_announce(*query, boost::asio::ip::make_address("10.0.0.9"));
    return 0;
}
