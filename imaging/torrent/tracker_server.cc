#include "imaging/torrent/tracker_server.h"

#include <charconv>

#include "imaging/torrent/tracker_http.h"

namespace imaging::torrent {

Result<boost::asio::ip::tcp::endpoint> parse_endpoint(const std::string& text) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return Status::error("expected ADDR:PORT, got '" + text + "'");
    std::string host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    unsigned port = 0;
    auto p = std::string_view(text).substr(colon + 1);
    auto [end, err] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (err != std::errc() || end != p.data() + p.size() || port > 65535) {
        return Status::error("bad port in '" + text + "'");
    }
    boost::system::error_code ec;
    auto addr = boost::asio::ip::make_address(host, ec);
    if (ec) return Status::error("bad address in '" + text + "': " + ec.message());
    return boost::asio::ip::tcp::endpoint(addr, static_cast<std::uint16_t>(port));
}

Result<std::unique_ptr<TrackerServer>> TrackerServer::start(const std::string& listen,
                                                            std::shared_ptr<Tracker> tracker,
                                                            std::vector<char> torrent) {
    auto endpoint = parse_endpoint(listen);
    if (!endpoint) return endpoint.status();
    http::Router router;
    mount_tracker(router, std::move(tracker));
    if (!torrent.empty()) {
        auto body = std::make_shared<const std::string>(torrent.begin(), torrent.end());
        router.add(http::bhttp::verb::get, kTorrentPath,
                   [body](const http::Request& req, const http::RequestContext&) {
                       return http::make_response(req, http::bhttp::status::ok, *body,
                                                  "application/x-bittorrent");
                   });
    }
    http::Limits limits;
    limits.max_body_bytes = 4 << 10;  // announces are GETs; nothing needs a body
    std::unique_ptr<TrackerServer> ts(new TrackerServer());
    boost::system::error_code ec;
    ts->server_ = http::Server::start(ts->ioc_, *endpoint, std::move(router), limits, ec);
    if (ec) return Status::error("tracker: listen on " + listen + ": " + ec.message());
    ts->thread_ = std::thread([raw = ts.get()] {
        auto guard = boost::asio::make_work_guard(raw->ioc_);
        raw->ioc_.run();
    });
    return ts;
}

TrackerServer::~TrackerServer() {
    if (server_) server_->stop();
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
}

std::string TrackerServer::base_url() const {
    auto ep = server_->local_endpoint();
    std::string host = ep.address().to_string();
    if (ep.address().is_v6()) host = "[" + host + "]";
    return "http://" + host + ":" + std::to_string(ep.port());
}

}  // namespace imaging::torrent
