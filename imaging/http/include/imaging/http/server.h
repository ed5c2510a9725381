// A bounded HTTP/1.1 server (Boost.Beast) dispatching to a Router. It runs on the caller's
// io_context (any number of threads may run it); start() binds and begins accepting.
//
// Lifetime: the Server must outlive nothing in particular: sessions hold their own shared
// state, so stop() (or destroying the Server) closes the listener and every open connection,
// and pending handlers finish on the io_context. Thread-safe: stop() may be called from any
// thread. stop() posts each connection's close to that connection's strand: an owner that
// stops its io_context right after may never run them, and a connection waiting on a
// StreamSource then keeps itself alive (the source's pending deliver holds it), so call
// wait_closed() between stop() and stopping the io_context.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include "imaging/http/limits.h"
#include "imaging/http/router.h"
#include "imaging/http/tls.h"

namespace imaging::http {

class Listener;
class SharedState;

class Server {
public:
    // Binds endpoint (port 0 picks a free port) and starts accepting; ec on failure.
    static std::unique_ptr<Server> start(boost::asio::io_context& ioc,
                                         const boost::asio::ip::tcp::endpoint& endpoint,
                                         Router router, Limits limits,
                                         boost::system::error_code& ec);
    // The same, speaking TLS and plain HTTP on the one port as tls says (tls.h).
    static std::unique_ptr<Server> start(boost::asio::io_context& ioc,
                                         const boost::asio::ip::tcp::endpoint& endpoint,
                                         Router router, Limits limits, TlsOptions tls,
                                         boost::system::error_code& ec);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    boost::asio::ip::tcp::endpoint local_endpoint() const { return local_; }
    std::size_t open_connections() const;
    // Kept connections closed, idle, to admit new ones at max_connections.
    std::size_t evicted_connections() const;
    // Requests waiting for a worker of the pool (0 without one).
    std::size_t queued_requests() const;
    // The pool's bounds and what it refused (all 0 without a pool): what /metrics shows.
    std::size_t worker_threads() const;
    std::size_t max_queued_requests() const;
    std::uint64_t rejected_requests() const;
    void stop();
    // After stop(), from a thread not running the io_context: waits until every connection is
    // closed, at most limit; false if some were still open then.
    bool wait_closed(std::chrono::milliseconds limit) const;

private:
    static std::unique_ptr<Server> launch(boost::asio::io_context& ioc,
                                          const boost::asio::ip::tcp::endpoint& endpoint,
                                          Router router, Limits limits,
                                          std::optional<TlsOptions> tls,
                                         boost::system::error_code& ec);
    Server(std::shared_ptr<SharedState> state, std::shared_ptr<Listener> listener,
           boost::asio::ip::tcp::endpoint local);
    std::shared_ptr<SharedState> state_;
    std::shared_ptr<Listener> listener_;
    boost::asio::ip::tcp::endpoint local_;
};

}  // namespace imaging::http
