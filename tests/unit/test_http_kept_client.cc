// imaging::http::KeptClient against real loopback servers: one connection reused (counted by
// the connections the server saw), an idle close answered by one retry on a fresh connection,
// no retry once a response byte came, a new connection for another authority or CA, and TLS
// verification on every connection; the server's idle_timeout and its eviction of the kept
// connection idle longest when full.
#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "imaging/http/kept_client.h"
#include "imaging/http/server.h"
#include "imaging/http/tls.h"
#include "tls_files.h"
#include "test_util.h"

namespace {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using namespace imaging::http;
using net::ip::tcp;
using namespace std::chrono_literals;

// A server that counts the connections its requests came on (by the client's port).
struct CountingServer {
    explicit CountingServer(Limits limits = {}, std::optional<TlsOptions> tls = std::nullopt) {
        Router router;
        router.add(bhttp::verb::get, "/hello", [this](const Request& req, const RequestContext& ctx) {
            seen(ctx);
            return make_response(req, bhttp::status::ok, "hello");
        });
        router.add(bhttp::verb::get, "/last", [this](const Request& req, const RequestContext& ctx) {
            seen(ctx);
            Response res = make_response(req, bhttp::status::ok, "last");
            res.keep_alive(false);
            return res;
        });
        boost::system::error_code ec;
        const tcp::endpoint any(net::ip::make_address("127.0.0.1"), 0);
        server = tls ? Server::start(ioc, any, std::move(router), limits, std::move(*tls), ec)
                     : Server::start(ioc, any, std::move(router), limits, ec);
        REQUIRE(!ec);
        thread = std::thread([this] { ioc.run(); });
    }
    ~CountingServer() {
        server->stop();
        ioc.stop();
        thread.join();
    }
    void seen(const RequestContext& ctx) {
        std::lock_guard lock(mu);
        ports.insert(ctx.remote.port());
    }
    std::size_t connections() {
        std::lock_guard lock(mu);
        return ports.size();
    }
    std::string url(const std::string& path, const std::string& scheme = "http") const {
        return scheme + "://127.0.0.1:" + std::to_string(server->local_endpoint().port()) + path;
    }

    net::io_context ioc;
    std::unique_ptr<Server> server;
    std::thread thread;
    std::mutex mu;
    std::set<unsigned short> ports;
};

ClientResponse kept_get(KeptClient& client, const std::string& url, const std::string& ca = "") {
    ClientRequest request;
    request.url = url;
    request.ca_file = ca;
    request.timeout = 5s;
    return client.request(request);
}

}  // namespace

TEST_CASE("kept client: one connection for many requests, a new one after Connection: close") {
    CountingServer s;
    KeptClient client;
    for (int i = 0; i < 5; ++i) {
        auto r = kept_get(client, s.url("/hello"));
        REQUIRE_MESSAGE(r.transport_ok, r.error);
        CHECK(r.status == 200);
        CHECK(r.body == "hello");
    }
    CHECK(s.connections() == 1);
    CHECK(client.connections_opened() == 1);
    auto last = kept_get(client, s.url("/last"));
    REQUIRE_MESSAGE(last.transport_ok, last.error);
    CHECK(last.body == "last");
    auto after = kept_get(client, s.url("/hello"));
    REQUIRE_MESSAGE(after.transport_ok, after.error);
    CHECK(s.connections() == 2);
    CHECK(client.connections_opened() == 2);
    CHECK(client.retries() == 0);
}

TEST_CASE("kept client: a connection the server closed while idle is retried once, fresh") {
    Limits limits;
    limits.idle_timeout = 200ms;
    CountingServer s(limits);
    KeptClient client;
    REQUIRE(kept_get(client, s.url("/hello")).transport_ok);
    std::this_thread::sleep_for(700ms);  // the server closes the idle connection
    auto r = kept_get(client, s.url("/hello"));
    REQUIRE_MESSAGE(r.transport_ok, r.error);
    CHECK(r.body == "hello");
    CHECK(client.retries() == 1);
    CHECK(client.connections_opened() == 2);
    CHECK(s.connections() == 2);
}

TEST_CASE("kept client: no retry once a byte of the response came, nor on a fresh connection") {
    net::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    const std::string url =
        "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/x";
    // One connection: a whole answer, then the start of one and a close.
    std::thread server([&] {
        tcp::socket socket(ioc);
        acceptor.accept(socket);
        net::streambuf in;
        boost::system::error_code ec;
        net::read_until(socket, in, "\r\n\r\n", ec);
        in.consume(in.size());
        net::write(socket, net::buffer(std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")), ec);
        net::read_until(socket, in, "\r\n\r\n", ec);
        net::write(socket, net::buffer(std::string("HTTP/1.1 200 OK\r\nContent-Le")), ec);
        socket.close();
    });
    KeptClient client;
    auto first = kept_get(client, url);
    REQUIRE_MESSAGE(first.transport_ok, first.error);
    CHECK(first.body == "ok");
    auto cut = kept_get(client, url);
    server.join();
    CHECK(!cut.transport_ok);
    CHECK(cut.error.find(url + ": reading the response: ") == 0);
    CHECK(client.retries() == 0);
    CHECK(client.connections_opened() == 1);
    // No second connection waits to be accepted.
    acceptor.non_blocking(true);
    tcp::socket extra(ioc);
    boost::system::error_code ec;
    acceptor.accept(extra, ec);
    CHECK(ec == net::error::would_block);

    // Nothing listens: a fresh connection's failure is the answer, not retried.
    acceptor.close();
    auto refused = kept_get(client, url);
    CHECK(!refused.transport_ok);
    CHECK(refused.error.find(url + ": connecting: ") == 0);
    CHECK(client.retries() == 0);
}

TEST_CASE("kept client: another authority gets its own connection") {
    CountingServer a, b;
    KeptClient client;
    REQUIRE(kept_get(client, a.url("/hello")).transport_ok);
    REQUIRE(kept_get(client, a.url("/hello")).transport_ok);
    REQUIRE(kept_get(client, b.url("/hello")).transport_ok);
    REQUIRE(kept_get(client, a.url("/hello")).transport_ok);
    CHECK(client.connections_opened() == 3);
    CHECK(a.connections() == 2);
    CHECK(b.connections() == 1);
    auto bad = kept_get(client, "ftp://x/");
    CHECK(bad.error == "not an http:// or https:// URL: ftp://x/");
}

TEST_CASE("kept client: TLS verified on every connection, a kept one only for its CA") {
    testutil::TempDir dir;
    const auto files = provisioner::server::TlsFiles::in(dir.path());
    REQUIRE(provisioner::server::ensure_tls_certificates(files, {"127.0.0.1"}));
    testutil::TempDir other_dir;
    const auto other = provisioner::server::TlsFiles::in(other_dir.path());
    REQUIRE(provisioner::server::ensure_tls_certificates(other, {"127.0.0.1"}));
    auto context = make_server_tls_context(files.server_cert.string(), files.server_key.string());
    REQUIRE(context);
    Limits limits;
    limits.idle_timeout = 300ms;
    CountingServer s(limits, TlsOptions{*context, {}});
    KeptClient client;

    auto untrusted = kept_get(client, s.url("/hello", "https"), other.ca_cert.string());
    CHECK(!untrusted.transport_ok);
    CHECK(untrusted.error.find("the server's TLS certificate is not trusted") != std::string::npos);
    CHECK(untrusted.error.find("refusing to talk to it") != std::string::npos);

    for (int i = 0; i < 3; ++i) {
        auto r = kept_get(client, s.url("/hello", "https"), files.ca_cert.string());
        REQUIRE_MESSAGE(r.transport_ok, r.error);
        CHECK(r.body == "hello");
    }
    CHECK(s.connections() == 1);
    std::this_thread::sleep_for(900ms);  // closed by the server, idle: retried, verified again
    auto retried = kept_get(client, s.url("/hello", "https"), files.ca_cert.string());
    REQUIRE_MESSAGE(retried.transport_ok, retried.error);
    CHECK(client.retries() == 1);
    CHECK(s.connections() == 2);

    // The kept, verified connection is not lent to a request that trusts another CA.
    auto again = kept_get(client, s.url("/hello", "https"), other.ca_cert.string());
    CHECK(!again.transport_ok);
    CHECK(again.error.find("not trusted") != std::string::npos);
    CHECK(client.retries() == 1);

    auto missing = kept_get(client, s.url("/hello", "https"), (dir.path() / "none.pem").string());
    CHECK(missing.error.find("cannot load the CA file") != std::string::npos);
}

TEST_CASE("http server: a kept connection waits idle_timeout, a request request_timeout") {
    Limits limits;
    limits.request_timeout = 300ms;
    limits.idle_timeout = 2000ms;
    CountingServer s(limits);
    KeptClient client;
    REQUIRE(kept_get(client, s.url("/hello")).transport_ok);
    std::this_thread::sleep_for(800ms);  // past request_timeout, within idle_timeout
    auto r = kept_get(client, s.url("/hello"));
    REQUIRE_MESSAGE(r.transport_ok, r.error);
    CHECK(client.retries() == 0);
    CHECK(s.connections() == 1);
    std::this_thread::sleep_for(2500ms);  // past idle_timeout: closed
    CHECK(s.server->open_connections() == 0);

    // A request that started but does not end still has request_timeout.
    net::io_context ioc;
    tcp::socket raw(ioc);
    raw.connect(s.server->local_endpoint());
    boost::system::error_code ec;
    const std::string whole = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    net::write(raw, net::buffer(whole), ec);
    net::streambuf in;
    net::read_until(raw, in, "hello", ec);
    REQUIRE(!ec);
    std::this_thread::sleep_for(500ms);  // idle, within idle_timeout
    net::write(raw, net::buffer(std::string("GET /hel")), ec);
    const auto start = std::chrono::steady_clock::now();
    char byte;
    raw.read_some(net::buffer(&byte, 1), ec);  // ends with the server's close
    CHECK(ec);
    CHECK(std::chrono::steady_clock::now() - start < 1500ms);
}

TEST_CASE("http server: when full, a new connection closes the kept one idle longest") {
    Limits limits;
    limits.max_connections = 2;
    limits.idle_timeout = 10s;
    CountingServer s(limits);
    KeptClient a, b, c;
    REQUIRE(kept_get(a, s.url("/hello")).transport_ok);
    std::this_thread::sleep_for(50ms);
    REQUIRE(kept_get(b, s.url("/hello")).transport_ok);
    auto r = kept_get(c, s.url("/hello"));
    REQUIRE_MESSAGE(r.transport_ok, r.error);
    CHECK(r.status == 200);
    CHECK(s.server->evicted_connections() == 1);
    // b kept its connection; a's was closed, and a reconnects (evicting c, idle longest now).
    REQUIRE(kept_get(b, s.url("/hello")).transport_ok);
    CHECK(b.connections_opened() == 1);
    auto again = kept_get(a, s.url("/hello"));
    REQUIRE_MESSAGE(again.transport_ok, again.error);
    CHECK(a.connections_opened() == 2);
    CHECK(a.retries() == 1);
}
