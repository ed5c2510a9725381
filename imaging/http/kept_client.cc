#include "imaging/http/kept_client.h"

#include <chrono>
#include <optional>
#include <string>

#include <fcntl.h>

#include <openssl/ssl.h>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "imaging/http/tls.h"
#include "client_tls.h"
#include "request_build.h"
#include "server_verifier.h"

namespace imaging::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using Clock = std::chrono::steady_clock;

namespace {

// How a kept connection the server closed while it was idle shows on the next request.
bool closed_by_peer(const beast::error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == net::error::eof ||
           ec == net::error::connection_reset || ec == net::error::broken_pipe ||
           ec == net::error::connection_aborted || ec == ssl::error::stream_truncated;
}

// One request's try: its parser and where it stopped.
struct Attempt {
    bhttp::response_parser<bhttp::string_body> parser;
    beast::error_code failure;
    const char* stage = "resolving";
};

}  // namespace

struct KeptClient::Impl {
    // Declared before the streams and the resolver: they go first, their aborted handlers
    // with the io_context, never run (as in http_request).
    std::optional<net::io_context> ioc{std::in_place};
    std::optional<ssl::context> tls;
    std::string tls_ca;  // the CA file tls holds ("" = the system's CAs)
    std::optional<net::ip::tcp::resolver> resolver;
    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
    std::string authority;  // of the open connection
    beast::flat_buffer buffer;
    std::string verify_failure;  // set by the handshake's ServerVerifier
    std::size_t opened = 0;
    std::size_t retried = 0;

    bool open() const { return plain.has_value() || secure.has_value(); }
    beast::tcp_stream& tcp() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

    // Drops the connection and whatever was pending on it.
    void reset() {
        secure.reset();
        plain.reset();
        resolver.reset();
        ioc.reset();
        ioc.emplace();
        buffer.clear();
        authority.clear();
    }

    template <class Stream>
    void exchange(Stream& stream, bhttp::request<bhttp::string_body>& req, Attempt& a) {
        a.stage = "sending the request";
        bhttp::async_write(stream, req, [this, &stream, &a](beast::error_code ec, std::size_t) {
            if (ec) return void(a.failure = ec);
            a.stage = "reading the response";
            bhttp::async_read(stream, buffer, a.parser, [&a](beast::error_code ec, std::size_t) {
                if (ec) a.failure = ec;
            });
        });
    }

    // One try on the open connection, or on a new one to url; done when it ran to its end or
    // to the deadline.
    void run(const Url& url, const std::string& key, bhttp::request<bhttp::string_body>& req,
             Attempt& a, Clock::time_point deadline) {
        ioc->restart();
        if (open()) {
            tcp().expires_at(deadline);
            if (secure) exchange(*secure, req, a);
            else exchange(*plain, req, a);
        } else {
            resolver.emplace(*ioc);
            verify_failure.clear();
            if (url.tls) {
                secure.emplace(*ioc, *tls);
                secure->set_verify_callback(ServerVerifier{url.host, &verify_failure});
            } else {
                plain.emplace(*ioc);
            }
            authority = key;
            tcp().expires_at(deadline);
            resolver->async_resolve(url.host, url.port, [this, &url, &req, &a](
                                                            beast::error_code ec, auto endpoints) {
                if (ec) return void(a.failure = ec);
                a.stage = "connecting";
                tcp().async_connect(endpoints, [this, &url, &req, &a](beast::error_code ec, auto) {
                    if (ec) return void(a.failure = ec);
                    ++opened;
                    // Not handed to the children an agent runs (qemu-img, the imaging tool):
                    // the server must see the close when this client drops it.
                    ::fcntl(tcp().socket().native_handle(), F_SETFD, FD_CLOEXEC);
                    if (!secure) return exchange(*plain, req, a);
                    a.stage = "TLS handshake";
                    // SNI for a name; an address is not sent (RFC 6066), matched as an IP SAN.
                    beast::error_code not_an_address;
                    net::ip::make_address(url.host, not_an_address);
                    if (not_an_address)
                        SSL_set_tlsext_host_name(secure->native_handle(), url.host.c_str());
                    secure->async_handshake(ssl::stream_base::client,
                                            [this, &req, &a](beast::error_code ec) {
                                                if (ec) return void(a.failure = ec);
                                                exchange(*secure, req, a);
                                            });
                });
            });
        }
        ioc->run_until(deadline + std::chrono::seconds(1));
    }
};

KeptClient::KeptClient() : impl_(std::make_unique<Impl>()) {}
KeptClient::~KeptClient() = default;

std::size_t KeptClient::connections_opened() const { return impl_->opened; }
std::size_t KeptClient::retries() const { return impl_->retried; }
void KeptClient::close() { impl_->reset(); }

ClientResponse KeptClient::request(const ClientRequest& request) {
    Impl& d = *impl_;
    ClientResponse result;
    auto url = parse_http_url(request.url);
    if (!url) {
        result.error = "not an http:// or https:// URL: " + request.url;
        return result;
    }
    bhttp::verb method = bhttp::string_to_verb(request.method);
    if (method == bhttp::verb::unknown) {
        result.error = "unknown HTTP method " + request.method;
        return result;
    }
    const std::string ca_file = request.ca_file.empty() ? default_ca_file() : request.ca_file;
    // The CA file is part of what the connection was verified against.
    const std::string key = std::string(url->tls ? "https://" : "http://") + url->host + " " +
                            url->port + (url->tls ? " " + ca_file : std::string());
    if (d.open() && d.authority != key) d.reset();
    if (url->tls && (!d.tls || d.tls_ca != ca_file)) {
        d.reset();
        d.tls.reset();
        auto context = client_tls_context(request.url, ca_file, result.error);
        if (!context) return result;
        d.tls.emplace(std::move(*context));
        d.tls_ca = ca_file;
    }

    bhttp::request<bhttp::string_body> req = build_request(*url, method, request);

    // One deadline for the whole exchange, a retry included.
    const Clock::time_point deadline = Clock::now() + request.timeout;
    for (bool may_retry = true;; may_retry = false) {
        const bool reused = d.open();
        Attempt a;
        a.parser.body_limit(request.max_body_bytes);
        d.run(*url, key, req, a, deadline);
        if (!a.failure && a.parser.is_done()) {
            auto res = a.parser.release();
            if (res.keep_alive()) d.tcp().expires_never();
            else d.reset();  // the server closes it
            result.transport_ok = true;
            result.status = res.result_int();
            if (auto it = res.find(bhttp::field::content_type); it != res.end())
                result.content_type = std::string(it->value());
            result.body = std::move(res.body());
            return result;
        }
        const bool untouched = !a.parser.got_some() && d.buffer.size() == 0;
        const std::string verify_failure = d.verify_failure;
        d.reset();
        if (reused && may_retry && a.failure && closed_by_peer(a.failure) && untouched) {
            ++d.retried;
            // The retry's parser is fresh: nothing of this try's response was read.
            result = ClientResponse{};
            continue;
        }
        if (!a.failure) {
            result.error = request.url + ": timed out";
        } else if (!verify_failure.empty()) {
            result.error = request.url + ": the server's TLS certificate is not trusted (" +
                           verify_failure + "; verified against " +
                           (ca_file.empty() ? std::string("the system's CAs") : ca_file) +
                           "); refusing to talk to it";
        } else {
            result.error = request.url + ": " + a.stage + ": " + a.failure.message();
        }
        return result;
    }
}

}  // namespace imaging::http
