// imaging::http: route patterns with parameters, 404 vs 405, and the worker pool: a slow
// handler on the pool never delays a cheap one, a full queue answers 503 at once, pipelined
// requests are answered in order across the pool.
#include <doctest/doctest.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "imaging/http/client.h"
#include "imaging/http/server.h"
#include "imaging/http/worker_pool.h"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using namespace imaging::http;
using net::ip::tcp;
using namespace std::chrono_literals;

Handler says(std::string what) {
    return [what](const Request& req, const RequestContext& ctx) {
        std::string body = what;
        for (const char* name : {"host", "template", "rest", "id"})
            if (const std::string* v = ctx.params.find(name))
                body += std::string(" ") + name + "=" + *v;
        return make_response(req, bhttp::status::ok, body);
    };
}

Response dispatch_request(const Router& router, bhttp::verb method, const std::string& target) {
    Request req{method, target, 11};
    return router.route(req, {}).into_text();
}

// Holds every handler that enters it until opened; counts who entered.
class Gate {
  public:
    void pass() {
        std::unique_lock lock(mu_);
        ++entered_;
        cv_.notify_all();
        cv_.wait(lock, [this] { return open_; });
    }
    void open() {
        std::lock_guard lock(mu_);
        open_ = true;
        cv_.notify_all();
    }
    bool wait_entered(int n) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, 5s, [&] { return entered_ >= n; });
    }
    int entered() {
        std::lock_guard lock(mu_);
        return entered_;
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    int entered_ = 0;
    bool open_ = false;
};

struct PoolServer {
    explicit PoolServer(std::size_t workers, std::size_t queue) {
        Router router;
        router.add(
            bhttp::verb::get, "/slow",
            [this](const Request& req, const RequestContext&) {
                gate.pass();
                return make_response(req, bhttp::status::ok, "slow");
            },
            Dispatch::worker_pool);
        router.add(bhttp::verb::get, "/pooled/{id}", says("pooled"), Dispatch::worker_pool);
        router.add(bhttp::verb::get, "/cheap", says("cheap"), Dispatch::io_thread);
        Limits limits;
        limits.worker_threads = workers;
        limits.max_queued_requests = queue;
        boost::system::error_code ec;
        server = Server::start(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0),
                               std::move(router), limits, ec);
        REQUIRE(!ec);
        // One I/O thread: a handler blocking it would block every other request.
        thread = std::thread([this] { ioc.run(); });
    }
    ~PoolServer() {
        gate.open();
        server->stop();
        ioc.stop();
        thread.join();
    }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(server->local_endpoint().port()) + path;
    }
    ClientResponse fetch(const std::string& path) const {
        ClientRequest r;
        r.url = url(path);
        r.timeout = 5s;
        return http_request(r);
    }

    Gate gate;
    net::io_context ioc;
    std::unique_ptr<Server> server;
    std::thread thread;
};

}  // namespace

TEST_CASE("router: patterns bind parameters; literal beats {param} beats {rest...}") {
    Router router;
    router.add(bhttp::verb::get, "/api/v1/hosts", says("list"));
    router.add(bhttp::verb::post, "/api/v1/hosts/import", says("import"));
    router.add(bhttp::verb::get, "/api/v1/hosts/{host}", says("show"));
    router.add(bhttp::verb::delete_, "/api/v1/hosts/{host}", says("remove"));
    router.add(bhttp::verb::get, "/api/v1/hosts/{host}/dom0", says("dom0"));
    router.add(bhttp::verb::get, "/api/v1/templates/{template}/file", says("file"));
    router.add(bhttp::verb::get, "/files/{rest...}", says("files"));
    router.add(bhttp::verb::get, "/files/special/{id}", says("special"));

    CHECK(dispatch_request(router, bhttp::verb::get, "/api/v1/hosts?limit=5").body() == "list");
    CHECK(dispatch_request(router, bhttp::verb::get, "/api/v1/hosts/h1").body() == "show host=h1");
    CHECK(
        dispatch_request(router, bhttp::verb::get, "/api/v1/hosts/52%3A54%3A00%3A00%3A00%3A01?x=1")
            .body() == "show host=52:54:00:00:00:01");
    CHECK(dispatch_request(router, bhttp::verb::delete_, "/api/v1/hosts/h1").body() ==
          "remove host=h1");
    CHECK(dispatch_request(router, bhttp::verb::get, "/api/v1/hosts/h1/dom0").body() ==
          "dom0 host=h1");
    CHECK(dispatch_request(router, bhttp::verb::get, "/api/v1/templates/label=a,b/file").body() ==
          "file template=label=a,b");
    CHECK(dispatch_request(router, bhttp::verb::get, "/files/a/b/c").body() == "files rest=a/b/c");
    CHECK(dispatch_request(router, bhttp::verb::get, "/files/special/7").body() == "special id=7");
    CHECK(dispatch_request(router, bhttp::verb::get, "/files/special/7/8").body() ==
          "files rest=special/7/8");

    // Not found: an empty parameter, a segment too many, a path no pattern has.
    CHECK(dispatch_request(router, bhttp::verb::get, "/api/v1/hosts/").result_int() == 404);
    CHECK(dispatch_request(router, bhttp::verb::get, "/api/v1/hosts/h1/dom0/x").result_int() ==
          404);
    CHECK(dispatch_request(router, bhttp::verb::get, "/api/v1/hosts/h1/other").result_int() == 404);
    CHECK(dispatch_request(router, bhttp::verb::get, "/files/").result_int() == 404);
    CHECK(dispatch_request(router, bhttp::verb::get, "/nothing").result_int() == 404);
    // A malformed escape in a parameter is the client's error.
    CHECK(dispatch_request(router, bhttp::verb::get, "/api/v1/hosts/h%zz").result_int() == 400);
}

TEST_CASE("router: 405 names the methods of the path's own route, not a looser pattern's") {
    Router router;
    router.add(bhttp::verb::post, "/api/v1/hosts/import", says("import"));
    router.add(bhttp::verb::get, "/api/v1/hosts/{host}", says("show"));
    router.add(bhttp::verb::delete_, "/api/v1/hosts/{host}", says("remove"));
    router.add(bhttp::verb::post, "/api/v1/hosts/{host}/accept", says("accept"));

    auto wrong = dispatch_request(router, bhttp::verb::get, "/api/v1/hosts/import");
    CHECK(wrong.result_int() == 405);
    CHECK(wrong[bhttp::field::allow] == "POST");
    auto put = dispatch_request(router, bhttp::verb::put, "/api/v1/hosts/h1");
    CHECK(put.result_int() == 405);
    CHECK(put[bhttp::field::allow] == "DELETE, GET");
    CHECK(dispatch_request(router, bhttp::verb::get, "/api/v1/hosts/h1/accept").result_int() ==
          405);
    // The match says where a handler runs, and finds no handler for an error.
    Request req{bhttp::verb::get, "/api/v1/hosts/h1", 11};
    auto found = router.match(req);
    REQUIRE(found.handler);
    CHECK(found.dispatch == Dispatch::io_thread);
    CHECK(found.params.get("host") == "h1");
    Request bad{bhttp::verb::patch, "/api/v1/hosts/h1", 11};
    CHECK(!router.match(bad).handler);
}

TEST_CASE("worker pool: a full queue refuses at once; stop drops the queued jobs") {
    Gate gate;
    WorkerPool pool(1, 1);
    int ran = 0;
    std::mutex mu;
    REQUIRE(pool.try_post([&] { gate.pass(); }));
    REQUIRE(gate.wait_entered(1));  // the worker holds the first; the queue is empty
    CHECK(pool.try_post([&] {
        std::lock_guard l(mu);
        ++ran;
    }));
    CHECK(pool.queued() == 1);
    CHECK(!pool.try_post([&] {
        std::lock_guard l(mu);
        ++ran;
    }));  // full: refused, not waited
    gate.open();
    for (int i = 0; i < 500 && pool.queued() > 0; ++i) std::this_thread::sleep_for(2ms);
    pool.stop();
    CHECK(ran == 1);
    CHECK(!pool.try_post([] {}));
}

TEST_CASE("http pool: a slow handler on the pool does not delay a cheap one") {
    PoolServer t(1, 4);
    std::thread slow([&] { CHECK(t.fetch("/slow").body == "slow"); });
    REQUIRE(t.gate.wait_entered(1));
    // The slow handler holds the only worker; the I/O thread still answers.
    auto started = std::chrono::steady_clock::now();
    auto cheap = t.fetch("/cheap");
    CHECK(cheap.status == 200);
    CHECK(cheap.body == "cheap");
    CHECK(std::chrono::steady_clock::now() - started < 2s);
    CHECK(t.gate.entered() == 1);
    t.gate.open();
    slow.join();
}

TEST_CASE("http pool: a full queue answers 503 with Retry-After at once, and recovers") {
    PoolServer t(1, 1);
    std::thread first([&] { CHECK(t.fetch("/slow").status == 200); });
    REQUIRE(t.gate.wait_entered(1));  // on the worker
    std::thread second([&] { CHECK(t.fetch("/slow").status == 200); });
    for (int i = 0; i < 500 && t.server->queued_requests() < 1; ++i)
        std::this_thread::sleep_for(2ms);
    REQUIRE(t.server->queued_requests() == 1);  // waiting: the queue is full
    auto started = std::chrono::steady_clock::now();
    ClientRequest r;
    r.url = t.url("/pooled/3");
    r.timeout = 5s;
    auto busy = http_request(r);
    CHECK(busy.status == 503);
    CHECK(std::chrono::steady_clock::now() - started < 2s);
    CHECK(busy.body.find("busy") != std::string::npos);
    // Retry-After is read from the raw answer: the client keeps only status and body.
    net::io_context ioc;
    beast::tcp_stream s(ioc);
    s.connect(t.server->local_endpoint());
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, "/pooled/4", 11};
    req.set(bhttp::field::host, "x");
    bhttp::write(s, req);
    beast::flat_buffer buf;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(s, buf, res);
    CHECK(res.result_int() == 503);
    CHECK(res[bhttp::field::retry_after] == "1");
    CHECK(res.keep_alive());  // the connection stays usable
    t.gate.open();
    first.join();
    second.join();
    // The same connection, now that the pool has room.
    bhttp::write(s, req);
    bhttp::response<bhttp::string_body> again;
    bhttp::read(s, buf, again);
    CHECK(again.result_int() == 200);
    CHECK(again.body() == "pooled id=4");
}

TEST_CASE("http pool: pipelined requests are answered in order, inline and pooled mixed") {
    PoolServer t(2, 8);
    t.gate.open();
    net::io_context ioc;
    beast::tcp_stream s(ioc);
    s.connect(t.server->local_endpoint());
    std::string burst;
    for (const char* path : {"/pooled/1", "/cheap", "/pooled/2", "/slow", "/pooled/3"})
        burst += std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
    net::write(s, net::buffer(burst));
    beast::flat_buffer buf;
    std::vector<std::string> bodies;
    for (int i = 0; i < 5; ++i) {
        bhttp::response<bhttp::string_body> res;
        s.expires_after(5s);
        bhttp::read(s, buf, res);
        CHECK(res.result_int() == 200);
        bodies.push_back(res.body());
    }
    CHECK(bodies ==
          std::vector<std::string>{"pooled id=1", "cheap", "pooled id=2", "slow", "pooled id=3"});
}
