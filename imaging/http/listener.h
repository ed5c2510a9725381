// Accepts TCP connections and hands each to a new HttpSession on its own strand (through a
// ProtocolDetector when the server speaks TLS too).
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>

namespace imaging::http {

class SharedState;

class Listener : public std::enable_shared_from_this<Listener> {
public:
    // Opens, binds and listens; ec on failure (the Listener is then unusable).
    Listener(boost::asio::io_context& ioc, const boost::asio::ip::tcp::endpoint& endpoint,
             std::shared_ptr<SharedState> state, boost::beast::error_code& ec);

    void run();
    void stop();  // any thread
    boost::asio::ip::tcp::endpoint local_endpoint() const;

private:
    void do_accept();
    void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

    boost::asio::io_context& ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::shared_ptr<SharedState> state_;
};

}  // namespace imaging::http
