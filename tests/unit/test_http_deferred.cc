// imaging::http: a DeferredResponse over a real loopback socket: while its answer is awaited
// it holds no worker; the answer, when it comes, is what the client reads, on a connection
// that stays usable; past its limit the fallback goes and a late answer is dropped; a server
// that stops does not wait for the limit.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "imaging/http/client.h"
#include "imaging/http/server.h"
#include "test_http_loopback.h"

namespace {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using namespace imaging::http;
using net::ip::tcp;
using namespace std::chrono_literals;

// GET /later is answered when the test says (answer(i)), or with 202 "fallback" after limit.
struct DeferredServer {
    DeferredServer(std::size_t workers, std::chrono::milliseconds limit) {
        Router router;
        router.add(
            bhttp::verb::get, "/later",
            [this, limit](const Request& req, const RequestContext&) -> Reply {
                auto [later, answer] = deferred_response(
                    limit, make_response(req, bhttp::status::accepted, "fallback"));
                std::lock_guard lock(mu);
                answers.push_back([answer = std::move(answer), req](std::string body) {
                    answer(make_response(req, bhttp::status::ok, std::move(body)));
                });
                return std::move(later);
            },
            Dispatch::worker_pool);
        router.add(
            bhttp::verb::get, "/pooled",
            [](const Request& req, const RequestContext&) {
                return make_response(req, bhttp::status::ok, "pooled");
            },
            Dispatch::worker_pool);
        loop.emplace(std::move(router), workers);
        server = loop->server.get();
    }
    std::string url(const std::string& path) const { return loop->url(path); }
    // Waits until the handler has run n times.
    bool wait_pending(std::size_t n) {
        for (int i = 0; i < 500; ++i) {
            {
                std::lock_guard lock(mu);
                if (answers.size() >= n) return true;
            }
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }
    void answer(std::size_t i, std::string body) {
        std::function<void(std::string)> f;
        {
            std::lock_guard lock(mu);
            f = answers.at(i);
        }
        f(std::move(body));
    }

    std::mutex mu;
    std::vector<std::function<void(std::string)>> answers;
    std::optional<httptest::LoopbackServer> loop;  // last: stopped before the answers go
    Server* server = nullptr;
};

ClientResponse get(const DeferredServer& s, const std::string& path) {
    ClientRequest req;
    req.url = s.url(path);
    req.timeout = 10s;
    return http_request(req);
}

// One keep-alive connection sending requests with blocking calls.
struct Connection {
    explicit Connection(const DeferredServer& s) : socket(ioc) {
        socket.connect(s.server->local_endpoint());
    }
    std::string request(const std::string& path) {
        net::write(socket, net::buffer("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n"));
        boost::system::error_code ec;
        std::size_t n = net::read_until(socket, net::dynamic_buffer(buffer), "\r\n\r\n", ec);
        if (ec) return "error: " + ec.message();
        std::string head = buffer.substr(0, n);
        buffer.erase(0, n);
        const auto at = head.find("Content-Length: ");
        const std::size_t length = at == std::string::npos ? 0 : std::stoul(head.substr(at + 16));
        while (buffer.size() < length) {
            char chunk[512];
            std::size_t got = socket.read_some(net::buffer(chunk), ec);
            if (ec) return "error: " + ec.message();
            buffer.append(chunk, got);
        }
        std::string body = buffer.substr(0, length);
        buffer.erase(0, length);
        return head.substr(0, head.find("\r\n")) + " " + body;
    }
    net::io_context ioc;
    tcp::socket socket;
    std::string buffer;
};

}  // namespace

TEST_CASE("http deferred: awaited answers hold no worker; each client reads its own") {
    DeferredServer s(1, 30s);
    std::vector<std::future<ClientResponse>> waiting;
    for (int i = 0; i < 3; ++i)
        waiting.push_back(std::async(std::launch::async, [&s] { return get(s, "/later"); }));
    REQUIRE(s.wait_pending(3));
    auto pooled = get(s, "/pooled");  // the pool's one worker is free
    CHECK(pooled.status == 200);
    CHECK(pooled.body == "pooled");
    for (int i = 2; i >= 0; --i) s.answer(std::size_t(i), "answer " + std::to_string(i));
    std::vector<std::string> bodies;
    for (auto& w : waiting) {
        REQUIRE(w.wait_for(5s) == std::future_status::ready);
        auto r = w.get();
        CHECK(r.status == 200);
        bodies.push_back(r.body);
    }
    std::sort(bodies.begin(), bodies.end());
    CHECK(bodies == std::vector<std::string>{"answer 0", "answer 1", "answer 2"});
}

TEST_CASE("http deferred: an answer that came before the session waited is sent at once") {
    DeferredServer s(1, 30s);
    // The handler's work may end before the session starts waiting: answered from the worker.
    Connection c(s);
    std::thread answerer([&s] {
        if (s.wait_pending(1)) s.answer(0, "early");
    });
    CHECK(c.request("/later") == "HTTP/1.1 200 OK early");
    answerer.join();
    CHECK(c.request("/pooled") == "HTTP/1.1 200 OK pooled");  // the connection goes on
}

TEST_CASE("http deferred: past its limit the fallback goes, a late answer is dropped") {
    DeferredServer s(1, 200ms);
    Connection c(s);
    const auto before = std::chrono::steady_clock::now();
    CHECK(c.request("/later") == "HTTP/1.1 202 Accepted fallback");
    CHECK(std::chrono::steady_clock::now() - before >= 190ms);
    s.answer(0, "late");  // nothing more is written for that request
    CHECK(c.request("/pooled") == "HTTP/1.1 200 OK pooled");
}

TEST_CASE("http deferred: a stopping server does not wait for an awaited answer") {
    auto s = std::make_unique<DeferredServer>(1, 60s);
    auto waiting = std::async(std::launch::async, [&s] { return get(*s, "/later"); });
    REQUIRE(s->wait_pending(1));
    const auto before = std::chrono::steady_clock::now();
    s.reset();  // stop, and wait_closed within 5 s (checked by the destructor)
    CHECK(std::chrono::steady_clock::now() - before < 5s);
    REQUIRE(waiting.wait_for(5s) == std::future_status::ready);
    CHECK(!waiting.get().transport_ok);
}
