// A real imaging::http::Server on 127.0.0.1 (an ephemeral port) for the HTTP tests that need
// a socket: it serves router with `workers` pool threads, its I/O on a thread of its own,
// and is stopped, and checked closed within 5 s, when it goes.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "imaging/http/server.h"

namespace httptest {

struct LoopbackServer {
    LoopbackServer(imaging::http::Router router, std::size_t workers) {
        imaging::http::Limits limits;
        limits.worker_threads = workers;
        boost::system::error_code ec;
        server = imaging::http::Server::start(
            ioc,
            boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0),
            std::move(router), limits, ec);
        REQUIRE(!ec);
        thread = std::thread([this] { ioc.run(); });
    }
    ~LoopbackServer() {
        server->stop();
        CHECK(server->wait_closed(std::chrono::seconds(5)));
        ioc.stop();
        thread.join();
    }
    LoopbackServer(const LoopbackServer&) = delete;
    LoopbackServer& operator=(const LoopbackServer&) = delete;

    boost::asio::ip::tcp::endpoint endpoint() const { return server->local_endpoint(); }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(endpoint().port()) + path;
    }

    boost::asio::io_context ioc;
    std::unique_ptr<imaging::http::Server> server;
    std::thread thread;
};

}  // namespace httptest
