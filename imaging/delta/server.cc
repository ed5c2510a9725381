#include "server.h"

#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

#include "framed_stream.h"
#include "session.h"

namespace imaging::delta {

namespace asio = boost::asio;
using asio::ip::tcp;

DeltaServer::DeltaServer(ServeOptions options, std::shared_ptr<PackedImage> image, ImageSignature signature)
    : options_(std::move(options)), image_(std::move(image)), signature_(std::move(signature)), acceptor_(io_) {}

DeltaServer::~DeltaServer() {
    stop();
    // Sessions hold `this`; each ends within its idle timeout.
    for (;;) {
        {
            std::lock_guard lock(mu_);
            if (active_ == 0) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

Result<std::unique_ptr<DeltaServer>> DeltaServer::start(const ServeOptions& options) {
    auto hp = split_host_port(options.listen);
    if (!hp) return hp.status();
    auto image = PackedImage::open_unverified(options.image_dir);
    if (!image) return image.status();
    auto signature = ImageSignature::load_or_compute(**image);
    if (!signature) return signature.status();
    std::unique_ptr<DeltaServer> server(new DeltaServer(options, std::move(*image), std::move(*signature)));
    if (!options.delivery_log.empty()) {
        if (!options.secret) return Status::error("a delivery log needs a secret: receipts are proved with it");
        auto log = DeliveryLog::open(options.delivery_log);
        if (!log) return log.status();
        server->deliveries_ = std::move(*log);
    }
    boost::system::error_code ec;
    auto address = asio::ip::make_address(hp->first, ec);
    if (ec) return Status::error("listen address '" + hp->first + "' is not an IP address");
    tcp::endpoint ep(address, std::uint16_t(std::stoul(hp->second)));
    server->acceptor_.open(ep.protocol(), ec);
    if (!ec) server->acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) server->acceptor_.bind(ep, ec);
    if (!ec) server->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::error("cannot listen on " + options.listen + ": " + ec.message());
    return server;
}

std::uint16_t DeltaServer::port() const {
    boost::system::error_code ec;
    return acceptor_.local_endpoint(ec).port();
}

void DeltaServer::stop() {
    // Runs on the io_context's thread: closing the acceptor there ends the pending accept.
    asio::post(io_, [this] {
        boost::system::error_code ec;
        acceptor_.close(ec);
    });
}

void DeltaServer::run() {
    accept_next();
    io_.run();
}

void DeltaServer::accept_next() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
        if (!acceptor_.is_open()) return;
        if (!ec) hand_off(std::move(socket));  // else: a connection that died before we took it
        accept_next();
    });
}

Status DeltaServer::admit(const asio::ip::address& peer) {
    std::lock_guard lock(mu_);
    if (active_ >= options_.max_sessions)
        return Status::error("server busy (" + std::to_string(options_.max_sessions) + " sessions)");
    unsigned& mine = per_peer_[peer];
    if (options_.max_sessions_per_peer > 0 && mine >= options_.max_sessions_per_peer) {
        if (mine == 0) per_peer_.erase(peer);
        return Status::error("too many sessions from " + peer.to_string() + " (limit " +
                             std::to_string(options_.max_sessions_per_peer) + ")");
    }
    ++mine;
    ++active_;
    return Status::ok();
}

void DeltaServer::release(const asio::ip::address& peer) {
    std::lock_guard lock(mu_);
    if (auto it = per_peer_.find(peer); it != per_peer_.end() && --it->second == 0) per_peer_.erase(it);
    --active_;
}

void DeltaServer::hand_off(tcp::socket socket) {
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (ec) return;  // gone already
    if (Status admitted = admit(remote.address()); !admitted) {
        std::cerr << "serve: turned " << remote << " away: " << admitted.message() << "\n";
        // Best effort and never blocking the accept loop: a kError frame fits any socket buffer.
        std::string text = admitted.message();
        std::uint32_t len = std::uint32_t(text.size());
        std::vector<std::uint8_t> frame(5 + text.size());
        std::memcpy(frame.data(), &len, 4);
        frame[4] = std::uint8_t(MsgType::kError);
        std::memcpy(frame.data() + 5, text.data(), text.size());
        socket.non_blocking(true, ec);
        if (!ec) socket.write_some(asio::buffer(frame), ec);
        return;  // closing the socket ends it
    }
    auto protocol = socket.local_endpoint(ec).protocol();
    std::thread([this, protocol, peer = remote.address(), fd = socket.release()] {
        serve_one(protocol, fd);
        release(peer);
    }).detach();
}

void DeltaServer::serve_one(tcp protocol, int fd) {
    auto start = std::chrono::steady_clock::now();
    // Each session runs on its own thread with its own io_context (FramedStream is synchronous).
    auto io = std::make_unique<asio::io_context>();
    tcp::socket socket(*io);
    boost::system::error_code ec;
    socket.assign(protocol, fd, ec);
    if (ec) return;
    auto stream = std::make_unique<FramedStream>(std::move(io), std::move(socket));
    std::string peer = stream->peer();
    ServerSession session(std::move(stream), *image_, signature_, options_, deliveries_.get());
    Status s = session.run();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << "serve: " << peer;
    if (!session.receiver_id().empty()) std::cerr << " (receiver " << session.receiver_id() << ")";
    std::cerr << (s ? " done" : " failed: " + s.message()) << " (sent " << session.bytes_sent()
              << " bytes in " << secs << " s" << (session.delivered() ? ", delivery recorded" : "")
              << ")" << std::endl;
}

}  // namespace imaging::delta
