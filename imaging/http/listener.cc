#include "listener.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>

#include "http_session.h"
#include "shared_state.h"

namespace imaging::http {

namespace beast = boost::beast;
namespace net = boost::asio;
using net::ip::tcp;

Listener::Listener(net::io_context& ioc, const tcp::endpoint& endpoint,
                   std::shared_ptr<SharedState> state, beast::error_code& ec)
    : ioc_(ioc), acceptor_(net::make_strand(ioc)), state_(std::move(state)) {
    ec = {};
    if (acceptor_.open(endpoint.protocol(), ec)) return;
    if (acceptor_.set_option(net::socket_base::reuse_address(true), ec)) return;
    if (acceptor_.bind(endpoint, ec)) return;
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
}

tcp::endpoint Listener::local_endpoint() const {
    beast::error_code ec;
    return acceptor_.local_endpoint(ec);
}

void Listener::run() {
    net::dispatch(acceptor_.get_executor(),
                  beast::bind_front_handler(&Listener::do_accept, shared_from_this()));
}

void Listener::stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
        beast::error_code ec;
        self->acceptor_.close(ec);
    });
}

void Listener::do_accept() {
    if (!acceptor_.is_open()) return;
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
}

void Listener::on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    // Other accept errors (EMFILE, a reset before accept) affect one connection; keep going.
    if (!ec) {
        if (state_->tls())
            std::make_shared<ProtocolDetector>(std::move(socket), state_)->run();
        else
            std::make_shared<HttpSession<PlainStream>>(PlainStream(std::move(socket)),
                                                       beast::flat_buffer(), state_)
                ->run();
    }
    do_accept();
}

}  // namespace imaging::http
