// imaging::http over TLS: one port that speaks HTTPS and plain HTTP, plain HTTP only for the
// allowed prefixes, and the client that verifies the server against a CA file.
#include <doctest/doctest.h>

#include <thread>

#include <boost/asio/io_context.hpp>

#include "imaging/http/client.h"
#include "imaging/http/server.h"
#include "imaging/http/tls.h"
#include "test_util.h"
#include "tls_files.h"

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using namespace imaging::http;
using net::ip::tcp;
using provisioner::server::TlsFiles;
using testutil::TempDir;

namespace {

struct TlsServer {
    explicit TlsServer(const TlsFiles& files) {
        Router router;
        auto hello = [](const Request& req, const RequestContext& ctx) {
            return make_response(req, bhttp::status::ok, ctx.secure ? "secure" : "plain");
        };
        router.add(bhttp::verb::get, "/api/v1/health", hello);
        router.add_prefix(bhttp::verb::get, "/boot/", hello);
        auto context = make_server_tls_context(files.server_cert.string(), files.server_key.string());
        REQUIRE(context);
        boost::system::error_code ec;
        server = Server::start(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0),
                               std::move(router), Limits{}, TlsOptions{*context, {"/boot/"}}, ec);
        REQUIRE(!ec);
        thread = std::thread([this] { ioc.run(); });
    }
    ~TlsServer() {
        server->stop();
        ioc.stop();
        thread.join();
    }
    std::string url(const std::string& scheme, const std::string& path) const {
        return scheme + "://127.0.0.1:" + std::to_string(server->local_endpoint().port()) + path;
    }
    net::io_context ioc;
    std::unique_ptr<Server> server;
    std::thread thread;
};

ClientResponse tls_get(const std::string& url, const std::string& ca) {
    ClientRequest request;
    request.url = url;
    request.ca_file = ca;
    request.timeout = std::chrono::seconds(5);
    return http_request(request);
}

}  // namespace

TEST_CASE("http tls: HTTPS with the right CA; plain HTTP only for the firmware prefix") {
    TempDir dir;
    const TlsFiles files = TlsFiles::in(dir.path());
    REQUIRE(provisioner::server::ensure_tls_certificates(files, {"127.0.0.1"}));
    TlsServer t(files);

    auto secure = tls_get(t.url("https", "/api/v1/health"), files.ca_cert.string());
    REQUIRE_MESSAGE(secure.transport_ok, secure.error);
    CHECK(secure.status == 200);
    CHECK(secure.body == "secure");

    auto refused = tls_get(t.url("http", "/api/v1/health"), "");
    REQUIRE(refused.transport_ok);
    CHECK(refused.status == 403);
    CHECK(refused.body.find("use https://127.0.0.1:") != std::string::npos);

    auto boot = tls_get(t.url("http", "/boot/x.ipxe"), "");
    REQUIRE(boot.transport_ok);
    CHECK(boot.status == 200);
    CHECK(boot.body == "plain");
    // The same path over TLS works too, and several requests on one port after another.
    CHECK(tls_get(t.url("https", "/boot/x.ipxe"), files.ca_cert.string()).body == "secure");
}

TEST_CASE("http tls: another CA, or a certificate for another name, fails with a clear error") {
    TempDir dir, other;
    const TlsFiles files = TlsFiles::in(dir.path());
    const TlsFiles stranger = TlsFiles::in(other.path());
    REQUIRE(provisioner::server::ensure_tls_certificates(files, {"127.0.0.1"}));
    REQUIRE(provisioner::server::ensure_tls_certificates(stranger, {"127.0.0.1"}));
    TlsServer t(files);

    // A man in the middle with a certificate from a CA we do not trust.
    auto wrong_ca = tls_get(t.url("https", "/api/v1/health"), stranger.ca_cert.string());
    CHECK_FALSE(wrong_ca.transport_ok);
    CHECK(wrong_ca.error.find("TLS certificate is not trusted") != std::string::npos);
    CHECK(wrong_ca.error.find(stranger.ca_cert.string()) != std::string::npos);

    // The right CA, but the certificate does not name the address asked for.
    TempDir third;
    const TlsFiles named = TlsFiles::in(third.path());
    REQUIRE(provisioner::server::ensure_tls_certificates(named, {"pxe.example"}));
    TlsServer misnamed(named);
    auto wrong_name = tls_get(misnamed.url("https", "/api/v1/health"), named.ca_cert.string());
    CHECK_FALSE(wrong_name.transport_ok);
    CHECK(wrong_name.error.find("not for 127.0.0.1") != std::string::npos);

    // A missing CA file is an error before any byte is sent, not a fallback.
    auto missing = tls_get(t.url("https", "/api/v1/health"), (dir / "nope.crt").string());
    CHECK_FALSE(missing.transport_ok);
    CHECK(missing.error.find("cannot load the CA file") != std::string::npos);

}

TEST_CASE("http tls: an https:// URL to a plain HTTP server fails in the handshake, never in clear") {
    TempDir dir;
    const TlsFiles files = TlsFiles::in(dir.path());
    REQUIRE(provisioner::server::ensure_tls_certificates(files, {"127.0.0.1"}));
    net::io_context ioc;
    Router router;
    router.add(bhttp::verb::get, "/x", [](const Request& req, const RequestContext&) {
        return make_response(req, bhttp::status::ok, "clear");
    });
    boost::system::error_code ec;
    auto server = Server::start(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0),
                                std::move(router), Limits{}, ec);
    REQUIRE(!ec);
    std::thread thread([&] { ioc.run(); });
    auto got =
        tls_get("https://127.0.0.1:" + std::to_string(server->local_endpoint().port()) + "/x",
                files.ca_cert.string());
    server->stop();
    ioc.stop();
    thread.join();
    CHECK_FALSE(got.transport_ok);
    CHECK(got.error.find("TLS handshake") != std::string::npos);
}
