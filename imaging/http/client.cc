#include "imaging/http/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace imaging::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;

std::optional<Url> parse_http_url(std::string_view url) {
    constexpr std::string_view kScheme = "http://";
    if (!url.starts_with(kScheme)) return std::nullopt;
    url.remove_prefix(kScheme.size());
    Url out;
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

ClientResponse http_request(const ClientRequest& request) {
    ClientResponse result;
    auto url = parse_http_url(request.url);
    if (!url) {
        result.error = "not an http:// URL: " + request.url;
        return result;
    }
    bhttp::verb method = bhttp::string_to_verb(request.method);
    if (method == bhttp::verb::unknown) {
        result.error = "unknown HTTP method " + request.method;
        return result;
    }
    net::io_context ioc;
    net::ip::tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    beast::flat_buffer buffer;
    bhttp::request<bhttp::string_body> req{method, url->target, 11};
    req.set(bhttp::field::host, url->host);
    req.set(bhttp::field::user_agent, "provisioner");
    for (const auto& [name, value] : request.headers) req.set(name, value);
    if (!request.body.empty()) {
        req.set(bhttp::field::content_type, request.content_type);
        req.body() = request.body;
    }
    req.prepare_payload();
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(request.max_body_bytes);
    beast::error_code failure;
    const char* stage = "resolving";

    // One deadline for the whole exchange; the first error ends the chain.
    stream.expires_after(request.timeout);
    resolver.async_resolve(url->host, url->port, [&](beast::error_code ec, auto endpoints) {
        if (ec) return void(failure = ec);
        stage = "connecting";
        stream.async_connect(endpoints, [&](beast::error_code ec, auto) {
            if (ec) return void(failure = ec);
            stage = "sending the request";
            bhttp::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
                if (ec) return void(failure = ec);
                stage = "reading the response";
                bhttp::async_read(stream, buffer, parser, [&](beast::error_code ec, std::size_t) {
                    if (ec) failure = ec;
                });
            });
        });
    });
    ioc.run_for(request.timeout + std::chrono::seconds(1));
    if (failure) {
        result.error = request.url + ": " + stage + ": " + failure.message();
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
