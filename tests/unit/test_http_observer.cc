// imaging::http's RequestObserver: every answered request is told with its route pattern (not
// its path), its status and its time, including 404s and the pool's 503s; the pool counts
// what it refused.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "imaging/http/client.h"
#include "imaging/http/server.h"

namespace {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using namespace imaging::http;
using net::ip::tcp;
using namespace std::chrono_literals;

struct Seen {
    bhttp::verb method;
    std::string route;  // "" for none
    unsigned status;
    std::chrono::nanoseconds duration;
};

class Recorder {
  public:
    void add(const RequestRecord& r) {
        std::lock_guard lock(mu_);
        seen_.push_back({r.method, r.route ? *r.route : "", r.status, r.duration});
        cv_.notify_all();
    }
    // The first n records, once there are n (at most 5 s).
    std::vector<Seen> wait(std::size_t n) {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, 5s, [&] { return seen_.size() >= n; });
        return seen_;
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Seen> seen_;
};

}  // namespace

TEST_CASE("http observer: route patterns, statuses and times of every answered request") {
    std::mutex gate_mu;
    std::condition_variable gate_cv;
    bool open = false, entered = false;
    Router router;
    router.add(
        bhttp::verb::get, "/items/{id}",
        [](const Request& req, const RequestContext&) {
            std::this_thread::sleep_for(20ms);
            return make_response(req, bhttp::status::ok, "item");
        },
        Dispatch::worker_pool);
    router.add(
        bhttp::verb::get, "/hold",
        [&](const Request& req, const RequestContext&) {
            std::unique_lock lock(gate_mu);
            entered = true;
            gate_cv.notify_all();
            gate_cv.wait(lock, [&] { return open; });
            return make_response(req, bhttp::status::ok, "held");
        },
        Dispatch::worker_pool);
    CHECK(router.routes().size() == 2);
    CHECK(router.routes()[0].second == "/items/{id}");
    auto recorder = std::make_shared<Recorder>();
    router.set_observer([recorder](const RequestRecord& r) { recorder->add(r); });
    Limits limits;
    limits.worker_threads = 1;
    limits.max_queued_requests = 1;
    net::io_context ioc;
    boost::system::error_code ec;
    auto server = Server::start(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0),
                                std::move(router), limits, ec);
    REQUIRE(!ec);
    std::thread io([&] { ioc.run(); });
    auto fetch = [&](const std::string& path) {
        ClientRequest r;
        r.url = "http://127.0.0.1:" + std::to_string(server->local_endpoint().port()) + path;
        r.timeout = 5s;
        return http_request(r).status;
    };
    CHECK(fetch("/items/42") == 200);
    CHECK(fetch("/nowhere") == 404);
    auto seen = recorder->wait(2);
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].method == bhttp::verb::get);
    CHECK(seen[0].route == "/items/{id}");
    CHECK(seen[0].status == 200);
    CHECK(seen[0].duration >= 20ms);  // the handler's time is in it
    CHECK(seen[1].route == "");
    CHECK(seen[1].status == 404);

    // The worker held, the queue full: the next is refused, counted, and observed as 503.
    std::thread held([&] { CHECK(fetch("/hold") == 200); });
    {
        std::unique_lock lock(gate_mu);
        REQUIRE(gate_cv.wait_for(lock, 5s, [&] { return entered; }));
    }
    std::thread queued([&] { CHECK(fetch("/items/1") == 200); });
    for (int i = 0; i < 500 && server->queued_requests() < 1; ++i) std::this_thread::sleep_for(2ms);
    REQUIRE(server->queued_requests() == 1);
    CHECK(server->rejected_requests() == 0);
    CHECK(fetch("/items/2") == 503);
    CHECK(server->rejected_requests() == 1);
    CHECK(server->worker_threads() == 1);
    CHECK(server->max_queued_requests() == 1);
    seen = recorder->wait(3);
    REQUIRE(seen.size() >= 3);
    CHECK(seen[2].route == "/items/{id}");
    CHECK(seen[2].status == 503);
    {
        std::lock_guard lock(gate_mu);
        open = true;
        gate_cv.notify_all();
    }
    held.join();
    queued.join();
    CHECK(recorder->wait(5).size() == 5);
    server->stop();
    ioc.stop();
    io.join();
}
