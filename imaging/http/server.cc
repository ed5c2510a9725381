#include "imaging/http/server.h"

#include <thread>

#include "listener.h"
#include "shared_state.h"

namespace imaging::http {

std::unique_ptr<Server> Server::start(boost::asio::io_context& ioc,
                                      const boost::asio::ip::tcp::endpoint& endpoint,
                                      Router router, Limits limits,
                                      boost::system::error_code& ec) {
    return launch(ioc, endpoint, std::move(router), limits, std::nullopt, ec);
}

std::unique_ptr<Server> Server::start(boost::asio::io_context& ioc,
                                      const boost::asio::ip::tcp::endpoint& endpoint,
                                      Router router, Limits limits, TlsOptions tls,
                                      boost::system::error_code& ec) {
    return launch(ioc, endpoint, std::move(router), limits,
                  std::optional<TlsOptions>(std::move(tls)), ec);
}

std::unique_ptr<Server> Server::launch(boost::asio::io_context& ioc,
                                       const boost::asio::ip::tcp::endpoint& endpoint,
                                       Router router, Limits limits,
                                       std::optional<TlsOptions> tls,
                                      boost::system::error_code& ec) {
    auto state = std::make_shared<SharedState>(std::move(router), limits, std::move(tls));
    auto listener = std::make_shared<Listener>(ioc, endpoint, state, ec);
    if (ec) return nullptr;
    auto local = listener->local_endpoint();
    listener->run();
    return std::unique_ptr<Server>(new Server(std::move(state), std::move(listener), local));
}

Server::Server(std::shared_ptr<SharedState> state, std::shared_ptr<Listener> listener,
               boost::asio::ip::tcp::endpoint local)
    : state_(std::move(state)), listener_(std::move(listener)), local_(local) {}

Server::~Server() { stop(); }

std::size_t Server::open_connections() const { return state_->size(); }
std::size_t Server::evicted_connections() const { return state_->evicted(); }

std::size_t Server::queued_requests() const {
    return state_->pool() ? state_->pool()->queued() : 0;
}

std::size_t Server::worker_threads() const {
    return state_->pool() ? state_->pool()->threads() : 0;
}

std::size_t Server::max_queued_requests() const {
    return state_->pool() ? state_->pool()->max_queued() : 0;
}

std::uint64_t Server::rejected_requests() const {
    return state_->pool() ? state_->pool()->rejected() : 0;
}

void Server::stop() {
    // The connections' closes are posted before the acceptor's: the pending accept keeps the
    // io_context's run() going until the acceptor is closed, so every close runs first. The
    // other order let a thread that runs the io_context finish the accept's cancellation, find
    // no work left and return before the closes were posted: they never ran, and a quiet
    // stream kept its connection (and its source) for good.
    state_->stop();
    listener_->stop();
}

bool Server::wait_closed(std::chrono::milliseconds limit) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (state_->size() > 0) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

}  // namespace imaging::http
