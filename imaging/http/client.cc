#include "imaging/http/client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
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

namespace {

std::string& process_ca_file() {
    static std::string path;
    return path;
}

}  // namespace

void set_default_ca_file(std::string path) { process_ca_file() = std::move(path); }
const std::string& default_ca_file() { return process_ca_file(); }

std::optional<Url> parse_http_url(std::string_view url) {
    Url out;
    if (url.starts_with("https://")) {
        url.remove_prefix(8);
        out.tls = true;
        out.port = "443";
    } else if (url.starts_with("http://")) {
        url.remove_prefix(7);
    } else {
        return std::nullopt;
    }
    auto slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    if (slash != std::string_view::npos) out.target = std::string(url.substr(slash));
    if (authority.starts_with('[')) {  // [v6]:port
        auto close = authority.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        out.host = std::string(authority.substr(1, close - 1));
        authority.remove_prefix(close + 1);
        if (authority.starts_with(':')) out.port = std::string(authority.substr(1));
        else if (!authority.empty()) return std::nullopt;
    } else {
        auto colon = authority.rfind(':');
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) out.port = std::string(authority.substr(colon + 1));
    }
    if (out.host.empty() || out.port.empty()) return std::nullopt;
    return out;
}

namespace {

// One exchange on a connected stream (plain or TLS): write the request, read the response.
// stage names the step that failed; the first error ends the chain.
template <class Stream>
void exchange(Stream& stream, const bhttp::request<bhttp::string_body>& req,
              beast::flat_buffer& buffer, bhttp::response_parser<bhttp::string_body>& parser,
              const char*& stage, beast::error_code& failure) {
    stage = "sending the request";
    bhttp::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
        if (ec) return void(failure = ec);
        stage = "reading the response";
        bhttp::async_read(stream, buffer, parser, [&](beast::error_code ec, std::size_t) {
            if (ec) failure = ec;
        });
    });
}

}  // namespace

ClientResponse http_request(const ClientRequest& request) {
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
    std::string verify_failure;
    std::optional<ssl::context> tls;
    if (url->tls) {
        tls = client_tls_context(request.url, ca_file, result.error);
        if (!tls) return result;
        tls->set_verify_callback(ServerVerifier{url->host, &verify_failure});
    }
    net::io_context ioc;
    net::ip::tcp::resolver resolver(ioc);
    beast::tcp_stream plain(ioc);
    std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
    if (tls) secure.emplace(ioc, *tls);
    beast::tcp_stream& tcp = secure ? beast::get_lowest_layer(*secure) : plain;
    beast::flat_buffer buffer;
    bhttp::request<bhttp::string_body> req = build_request(*url, method, request);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(request.max_body_bytes);
    beast::error_code failure;
    const char* stage = "resolving";

    // One deadline for the whole exchange; the first error ends the chain.
    tcp.expires_after(request.timeout);
    resolver.async_resolve(url->host, url->port, [&](beast::error_code ec, auto endpoints) {
        if (ec) return void(failure = ec);
        stage = "connecting";
        tcp.async_connect(endpoints, [&](beast::error_code ec, auto) {
            if (ec) return void(failure = ec);
            if (!secure) return exchange(plain, req, buffer, parser, stage, failure);
            stage = "TLS handshake";
            // SNI for a name; an address is not sent (RFC 6066) and is matched as an IP SAN.
            beast::error_code not_an_address;
            net::ip::make_address(url->host, not_an_address);
            if (not_an_address)
                SSL_set_tlsext_host_name(secure->native_handle(), url->host.c_str());
            secure->async_handshake(ssl::stream_base::client, [&](beast::error_code ec) {
                if (ec) return void(failure = ec);
                exchange(*secure, req, buffer, parser, stage, failure);
            });
        });
    });
    ioc.run_for(request.timeout + std::chrono::seconds(1));
    if (failure) {
        if (!verify_failure.empty()) {
            result.error = request.url + ": the server's TLS certificate is not trusted (" +
                           verify_failure + "; verified against " +
                           (ca_file.empty() ? std::string("the system's CAs") : ca_file) +
                           "); refusing to talk to it";
        } else {
            result.error = request.url + ": " + stage + ": " + failure.message();
        }
        return result;
    }
    if (!parser.is_done()) {
        result.error = request.url + ": timed out";
        return result;
    }
    auto res = parser.release();
    result.transport_ok = true;
    result.status = res.result_int();
    if (auto it = res.find(bhttp::field::content_type); it != res.end()) {
        result.content_type = std::string(it->value());
    }
    result.body = std::move(res.body());
    return result;
}

GetResult http_get(std::string_view url_text, std::chrono::milliseconds timeout,
                   std::size_t max_body_bytes) {
    ClientRequest request;
    request.url = std::string(url_text);
    request.timeout = timeout;
    request.max_body_bytes = max_body_bytes;
    ClientResponse response = http_request(request);
    GetResult result;
    result.status = response.status;
    if (!response.transport_ok) {
        result.error = std::move(response.error);
    } else if (!response.success()) {
        result.error = request.url + ": HTTP " + std::to_string(response.status);
    } else {
        result.ok = true;
        result.body = std::move(response.body);
    }
    return result;
}

}  // namespace imaging::http
