#include "server.h"

#include <iostream>
#include <thread>

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
    while (active_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

Result<std::unique_ptr<DeltaServer>> DeltaServer::start(const ServeOptions& options) {
    auto hp = split_host_port(options.listen);
    if (!hp) return hp.status();
    auto image = PackedImage::open_unverified(options.image_dir);
    if (!image) return image.status();
    auto signature = ImageSignature::load_or_compute(**image);
    if (!signature) return signature.status();
    std::unique_ptr<DeltaServer> server(new DeltaServer(options, std::move(*image), std::move(*signature)));
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

void DeltaServer::hand_off(tcp::socket socket) {
    if (active_ >= options_.max_sessions) {
        std::cerr << "serve: turned a receiver away (" << options_.max_sessions << " sessions busy)\n";
        return;  // closing the socket tells it
    }
    ++active_;
    boost::system::error_code ec;
    auto protocol = socket.local_endpoint(ec).protocol();
    std::thread([this, protocol, fd = socket.release()] {
        serve_one(protocol, fd);
        --active_;
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
    ServerSession session(std::move(stream), *image_, signature_, options_);
    Status s = session.run();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << "serve: " << peer << (s ? " done" : " failed: " + s.message()) << " (sent "
              << session.bytes_sent() << " bytes in " << secs << " s)" << std::endl;
}

}  // namespace imaging::delta
