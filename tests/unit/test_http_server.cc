// imaging::http: routing, limits (body, header, connections, time) over real loopback sockets.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <unistd.h>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "imaging/http/client.h"
#include "imaging/http/query.h"
#include "imaging/http/server.h"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using namespace imaging::http;
using net::ip::tcp;

struct TestServer {
    explicit TestServer(Limits limits = {}) {
        Router router;
        router.add(bhttp::verb::get, "/hello", [](const Request& req, const RequestContext& ctx) {
            return make_response(req, bhttp::status::ok, "hello " + ctx.remote.address().to_string());
        });
        router.add(bhttp::verb::post, "/echo", [](const Request& req, const RequestContext&) {
            return make_response(req, bhttp::status::ok, req.body());
        });
        router.add_prefix(bhttp::verb::get, "/items/", [](const Request& req, const RequestContext&) {
            return make_response(req, bhttp::status::ok, "item " + std::string(req.target()));
        });
        router.add_prefix(bhttp::verb::get, "/items/special/", [](const Request& req, const RequestContext&) {
            return make_response(req, bhttp::status::ok, "special");
        });
        router.add(bhttp::verb::get, "/items/exact", [](const Request& req, const RequestContext&) {
            return make_response(req, bhttp::status::ok, "exact");
        });
        router.add(bhttp::verb::get, "/file", [this](const Request& req, const RequestContext&) -> Reply {
            auto file = make_file_response(req, bhttp::status::ok, file_path);
            if (!file) return make_response(req, bhttp::status::not_found, file.status().message());
            return std::move(*file);
        });
        router.add(bhttp::verb::get, "/throw", [](const Request&, const RequestContext&) -> Response {
            throw std::runtime_error("boom");
        });
        boost::system::error_code ec;
        server = Server::start(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0),
                               std::move(router), limits, ec);
        REQUIRE(!ec);
        thread = std::thread([this] { ioc.run(); });
    }
    ~TestServer() {
        server->stop();
        ioc.stop();
        thread.join();
    }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(server->local_endpoint().port()) + path;
    }
    tcp::endpoint endpoint() const { return server->local_endpoint(); }

    net::io_context ioc;
    std::unique_ptr<Server> server;
    std::thread thread;
    std::string file_path;  // what GET /file streams
};

// Sends raw bytes and returns everything the server answers before closing (or 2 s).
std::string raw_exchange(const tcp::endpoint& ep, const std::string& bytes) {
    net::io_context ioc;
    beast::tcp_stream s(ioc);
    s.connect(ep);
    net::write(s, net::buffer(bytes));
    std::string out;
    char buf[4096];
    s.expires_after(std::chrono::seconds(2));
    beast::error_code ec;
    for (;;) {
        std::size_t n = s.socket().read_some(net::buffer(buf), ec);
        if (ec) break;
        out.append(buf, n);
    }
    return out;
}

}  // namespace

TEST_CASE("http: routes, 404, 405 with Allow, handler exceptions become 500") {
    TestServer t;
    auto ok = http_get(t.url("/hello"), std::chrono::seconds(5), 1 << 20);
    REQUIRE(ok.ok);
    CHECK(ok.body == "hello 127.0.0.1");
    auto missing = http_get(t.url("/nope"), std::chrono::seconds(5), 1 << 20);
    CHECK(!missing.ok);
    CHECK(missing.status == 404);
    auto wrong = raw_exchange(t.endpoint(), "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(wrong.starts_with("HTTP/1.1 405"));
    CHECK(wrong.find("Allow: POST") != std::string::npos);
    auto boom = http_get(t.url("/throw"), std::chrono::seconds(5), 1 << 20);
    CHECK(boom.status == 500);
    CHECK(boom.body.find("boom") == std::string::npos);  // what went wrong stays in the log
}

TEST_CASE("http: prefix routes: exact wins, then the longest prefix; 405 names the methods") {
    TestServer t;
    CHECK(http_get(t.url("/items/42?x=1"), std::chrono::seconds(5), 1 << 20).body == "item /items/42?x=1");
    CHECK(http_get(t.url("/items/special/1"), std::chrono::seconds(5), 1 << 20).body == "special");
    CHECK(http_get(t.url("/items/exact"), std::chrono::seconds(5), 1 << 20).body == "exact");
    CHECK(http_get(t.url("/itemsx"), std::chrono::seconds(5), 1 << 20).status == 404);
    ClientRequest del;
    del.method = "DELETE";
    del.url = t.url("/items/42");
    auto res = http_request(del);
    REQUIRE(res.transport_ok);
    CHECK(res.status == 405);
}

TEST_CASE("http: http_request sends method, headers and body; any status is a response") {
    TestServer t;
    ClientRequest post;
    post.method = "POST";
    post.url = t.url("/echo");
    post.body = R"({"a":1})";
    post.headers.push_back({"Authorization", "Bearer t"});
    auto res = http_request(post);
    REQUIRE(res.success());
    CHECK(res.body == R"({"a":1})");
    ClientRequest missing;
    missing.url = t.url("/nope");
    auto gone = http_request(missing);
    CHECK(gone.transport_ok);
    CHECK(!gone.success());
    CHECK(gone.status == 404);
    ClientRequest refused;
    refused.url = "http://127.0.0.1:1/";
    auto down = http_request(refused);
    CHECK(!down.transport_ok);
    CHECK(down.error.find("connecting") != std::string::npos);
}

TEST_CASE("http: keep-alive serves several requests on one connection") {
    TestServer t;
    std::string two = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    auto out = raw_exchange(t.endpoint(), two);
    auto first = out.find("HTTP/1.1 200");
    REQUIRE(first != std::string::npos);
    CHECK(out.find("HTTP/1.1 200", first + 1) != std::string::npos);
}

TEST_CASE("http: a body over the limit gets 413 and never reaches the handler") {
    Limits limits;
    limits.max_body_bytes = 100;
    TestServer t(limits);
    std::string small = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nabcde";
    auto ok = raw_exchange(t.endpoint(), small);
    CHECK(ok.starts_with("HTTP/1.1 200"));
    CHECK(ok.ends_with("abcde"));
    std::string big = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n" + std::string(101, 'x');
    CHECK(raw_exchange(t.endpoint(), big).starts_with("HTTP/1.1 413"));
}

TEST_CASE("http: headers over the limit get 431; garbage gets 400") {
    Limits limits;
    limits.max_header_bytes = 512;
    TestServer t(limits);
    std::string big = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1000, 'a') + "\r\n\r\n";
    CHECK(raw_exchange(t.endpoint(), big).starts_with("HTTP/1.1 431"));
    CHECK(raw_exchange(t.endpoint(), "NOT HTTP AT ALL\r\n\r\n").starts_with("HTTP/1.1 400"));
}

TEST_CASE("http: a client that stalls is disconnected after request_timeout") {
    Limits limits;
    limits.request_timeout = std::chrono::milliseconds(300);
    TestServer t(limits);
    auto start = std::chrono::steady_clock::now();
    auto out = raw_exchange(t.endpoint(), "GET /hello HTTP/1.1\r\nHost: x\r\n");  // never ends
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(out.empty());
    CHECK(took < std::chrono::milliseconds(1800));
}

TEST_CASE("http: connections over max_connections get 503") {
    Limits limits;
    limits.max_connections = 2;
    TestServer t(limits);
    net::io_context ioc;
    tcp::socket a(ioc), b(ioc);
    a.connect(t.endpoint());
    b.connect(t.endpoint());
    for (int i = 0; i < 100 && t.server->open_connections() < 2; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(t.server->open_connections() == 2);
    CHECK(raw_exchange(t.endpoint(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n").starts_with("HTTP/1.1 503"));
    a.close();
    b.close();
    for (int i = 0; i < 100 && t.server->open_connections() > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(http_get(t.url("/hello"), std::chrono::seconds(5), 1 << 20).ok);
}

TEST_CASE("http: query strings keep binary bytes; malformed escapes are refused") {
    auto q = parse_query("/announce?info_hash=%00%FFab&port=6881&x=a+b");
    REQUIRE(q);
    CHECK(*query_value(*q, "info_hash") == std::string("\0\xff" "ab", 4));
    CHECK(*query_value(*q, "port") == "6881");
    CHECK(*query_value(*q, "x") == "a b");
    CHECK(!parse_query("/a?x=%4"));
    CHECK(!parse_query("/a?x=%zz"));
    CHECK(percent_decode(percent_encode(std::string("\0\x01 /?", 5))) == std::string("\0\x01 /?", 5));
    auto url = parse_http_url("http://10.0.0.1:8080/image.torrent");
    REQUIRE(url);
    CHECK(url->host == "10.0.0.1");
    CHECK(url->port == "8080");
    CHECK(url->target == "/image.torrent");
    auto secure = parse_http_url("https://x/");
    REQUIRE(secure);
    CHECK(secure->tls);
    CHECK(secure->port == "443");
    CHECK(!parse_http_url("ftp://x/"));
}

TEST_CASE("http: a file reply is streamed whole, on a slow reader beyond the write timeout") {
    Limits limits;
    limits.write_timeout = std::chrono::milliseconds(300);
    TestServer t(limits);
    char dir_template[] = "/tmp/http-file.XXXXXX";
    REQUIRE(::mkdtemp(dir_template) != nullptr);
    t.file_path = std::string(dir_template) + "/blob";
    std::string blob(32 << 20, '\0');
    for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = char((i * 2654435761u) >> 13);
    {
        std::FILE* f = std::fopen(t.file_path.c_str(), "wb");
        REQUIRE(f);
        REQUIRE(std::fwrite(blob.data(), 1, blob.size(), f) == blob.size());
        std::fclose(f);
    }
    auto got = http_get(t.url("/file"), std::chrono::seconds(20), 64 << 20);
    REQUIRE(got.ok);
    CHECK(got.body == blob);

    // A reader taking 1 MiB every 50 ms needs about 1.6 s, five write timeouts: each piece
    // written renews the timeout, so the whole file arrives.
    net::io_context ioc;
    beast::tcp_stream s(ioc);
    s.connect(t.endpoint());
    net::write(s, net::buffer(std::string("GET /file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
    std::string out;
    std::vector<char> buf(1 << 20);
    beast::error_code ec;
    auto started = std::chrono::steady_clock::now();
    for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::size_t n = net::read(s.socket(), net::buffer(buf), ec);
        out.append(buf.data(), n);
        if (ec) break;
    }
    CHECK(std::chrono::steady_clock::now() - started > std::chrono::milliseconds(600));
    auto header_end = out.find("\r\n\r\n");
    REQUIRE(header_end != std::string::npos);
    CHECK(out.starts_with("HTTP/1.1 200"));
    CHECK(out.find("Content-Length: " + std::to_string(blob.size())) != std::string::npos);
    CHECK(out.substr(header_end + 4) == blob);

    t.file_path = std::string(dir_template) + "/absent";
    auto absent = http_get(t.url("/file"), std::chrono::seconds(5), 1 << 20);
    CHECK(absent.status == 404);

    std::remove((std::string(dir_template) + "/blob").c_str());
    ::rmdir(dir_template);
}
