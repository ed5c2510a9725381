#include "listen_probe.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace provisioner::server {

bool accepts_connections(const std::string& host, std::uint16_t port,
                         std::chrono::milliseconds timeout) {
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(host == "0.0.0.0" ? "127.0.0.1" : host, ec);
    if (ec) return false;
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket socket(ioc);
    bool connected = false;
    socket.async_connect({address, port},
                         [&](const boost::system::error_code& e) { connected = !e; });
    ioc.run_for(timeout);
    return connected;
}

}  // namespace provisioner::server
