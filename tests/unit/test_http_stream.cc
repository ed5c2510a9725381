// imaging::http: a StreamResponse (server-sent events) over a real loopback socket: the head
// without a length, each piece as its source delivers it, no worker held while the source is
// quiet, and the source cancelled when the client goes or the server stops.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

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

// Pieces pushed by the test, handed out as the session asks for them.
class QueueSource final : public StreamSource {
  public:
    void next(Deliver deliver) override {
        std::unique_lock lock(mu_);
        ++asked_;
        cv_.notify_all();
        if (queue_.empty()) {
            pending_ = std::move(deliver);
            return;
        }
        auto piece = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        deliver(std::move(piece));
    }
    void cancel() override {
        std::lock_guard lock(mu_);
        cancelled_ = true;
        pending_ = nullptr;
        cv_.notify_all();
    }
    void push(std::optional<std::string> piece) {
        std::unique_lock lock(mu_);
        if (!pending_) {
            queue_.push_back(std::move(piece));
            return;
        }
        auto deliver = std::move(pending_);
        pending_ = nullptr;
        lock.unlock();
        deliver(std::move(piece));
    }
    bool wait_cancelled() {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, 5s, [this] { return cancelled_; });
    }
    // Waits until the session asked for a piece n times (it asks after each write).
    bool wait_asked(int n) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, 5s, [&] { return asked_ >= n; });
    }
    bool cancelled() {
        std::lock_guard lock(mu_);
        return cancelled_;
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::optional<std::string>> queue_;
    Deliver pending_;
    bool cancelled_ = false;
    int asked_ = 0;
};

struct StreamServer {
    explicit StreamServer(std::size_t workers) {
        Router router;
        router.add(
            bhttp::verb::get, "/events",
            [this](const Request& req, const RequestContext&) -> Reply {
                auto source = std::make_shared<QueueSource>();
                {
                    std::lock_guard lock(mu);
                    sources.push_back(source);
                }
                StreamResponse out{make_response(req, bhttp::status::ok, "ignored",
                                                 "text/event-stream"),
                                   source};
                return out;
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
    std::shared_ptr<QueueSource> source(std::size_t i) {
        for (int tries = 0; tries < 500; ++tries) {
            {
                std::lock_guard lock(mu);
                if (sources.size() > i) return sources[i];
            }
            std::this_thread::sleep_for(10ms);
        }
        return nullptr;
    }

    std::mutex mu;
    std::vector<std::shared_ptr<QueueSource>> sources;
    std::optional<httptest::LoopbackServer> loop;  // last: stopped before the sources go
    Server* server = nullptr;
};

// A client reading a stream with blocking calls.
struct Reader {
    explicit Reader(const StreamServer& s) : socket(ioc) {
        socket.connect(s.server->local_endpoint());
        net::write(socket, net::buffer(std::string("GET /events HTTP/1.1\r\nHost: t\r\n\r\n")));
    }
    std::string until(const std::string& delimiter) {
        boost::system::error_code ec;
        std::size_t n = net::read_until(socket, net::dynamic_buffer(buffer), delimiter, ec);
        if (ec) return "error: " + ec.message();
        std::string out = buffer.substr(0, n);
        buffer.erase(0, n);
        return out;
    }
    net::io_context ioc;
    tcp::socket socket;
    std::string buffer;
};

}  // namespace

TEST_CASE("http stream: the head without a length, then each piece as the source delivers it") {
    StreamServer s(1);
    Reader r(s);
    std::string head = r.until("\r\n\r\n");
    CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(head.find("Content-Type: text/event-stream\r\n") != std::string::npos);
    CHECK(head.find("Content-Length") == std::string::npos);
    CHECK(head.find("Connection: close\r\n") != std::string::npos);
    auto source = s.source(0);
    REQUIRE(source);
    source->push("data: one\n\n");
    CHECK(r.until("\n\n") == "data: one\n\n");
    source->push("data: two\n\n");
    CHECK(r.until("\n\n") == "data: two\n\n");
    source->push(std::nullopt);  // the end: the server closes the connection
    CHECK(r.until("\n\n").starts_with("error: "));
    CHECK(!source->cancelled());
}

TEST_CASE("http stream: quiet streams hold no worker; the pool's one worker still answers") {
    StreamServer s(1);
    std::vector<std::unique_ptr<Reader>> readers;
    for (int i = 0; i < 4; ++i) {
        readers.push_back(std::make_unique<Reader>(s));
        CHECK(readers.back()->until("\r\n\r\n").starts_with("HTTP/1.1 200"));
    }
    ClientRequest req;
    req.url = s.loop->url("/pooled");
    req.timeout = 2s;
    auto answer = http_request(req);
    CHECK(answer.status == 200);
    CHECK(answer.body == "pooled");
}

TEST_CASE("http stream: a client that goes away gets its source cancelled at the next write") {
    StreamServer s(1);
    auto r = std::make_unique<Reader>(s);
    CHECK(r->until("\r\n\r\n").starts_with("HTTP/1.1 200"));
    auto source = s.source(0);
    REQUIRE(source);
    r.reset();  // the client closes its end
    // Keep-alive comments, as a real source sends them: a write to the closed peer fails
    // (at the latest the second one, once its reset has come back).
    for (int i = 0; i < 50 && !source->cancelled(); ++i) {
        REQUIRE(source->wait_asked(i + 1));
        source->push(": keep-alive\n\n");
        std::this_thread::sleep_for(20ms);
    }
    CHECK(source->wait_cancelled());
}

TEST_CASE("http stream: stopping the server cancels a quiet stream's source") {
    auto s = std::make_unique<StreamServer>(1);
    Reader r(*s);
    CHECK(r.until("\r\n\r\n").starts_with("HTTP/1.1 200"));
    auto source = s->source(0);
    REQUIRE(source);
    REQUIRE(source->wait_asked(1));
    s->server->stop();
    CHECK(source->wait_cancelled());
}
