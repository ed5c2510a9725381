// The tracker on its own small HTTP server and I/O thread, for `imaging seed --tracker-listen`:
// GET /announce, and GET /image.torrent with the torrent being seeded (so hosts need only a
// URL). provisionerd mounts the same handlers on its API server instead.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "imaging/http/server.h"
#include "imaging/status.h"
#include "imaging/torrent/tracker.h"

namespace imaging::torrent {

inline constexpr const char* kTorrentPath = "/image.torrent";

class TrackerServer {
public:
    // listen is ADDR:PORT (PORT 0 picks one). torrent may be empty (no /image.torrent).
    static Result<std::unique_ptr<TrackerServer>> start(const std::string& listen,
                                                        std::shared_ptr<Tracker> tracker,
                                                        std::vector<char> torrent);
    ~TrackerServer();  // stops the server and joins its thread

    // "http://ADDR:PORT" as bound.
    std::string base_url() const;

private:
    TrackerServer() = default;
    boost::asio::io_context ioc_;
    std::unique_ptr<http::Server> server_;
    std::thread thread_;
};

// Splits "ADDR:PORT" / "[V6]:PORT"; an error for anything else.
Result<boost::asio::ip::tcp::endpoint> parse_endpoint(const std::string& text);

}  // namespace imaging::torrent
