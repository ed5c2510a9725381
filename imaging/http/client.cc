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

GetResult http_get(std::string_view url_text, std::chrono::milliseconds timeout,
                   std::size_t max_body_bytes) {
    GetResult result;
    auto url = parse_http_url(url_text);
    if (!url) {
        result.error = "not an http:// URL: " + std::string(url_text);
        return result;
    }
    net::io_context ioc;
    net::ip::tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    beast::flat_buffer buffer;
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, url->target, 11};
    req.set(bhttp::field::host, url->host);
    req.set(bhttp::field::user_agent, "imaging");
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(max_body_bytes);
    beast::error_code failure;
    const char* stage = "resolving";

    // One deadline for the whole exchange; the first error ends the chain.
    stream.expires_after(timeout);
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
    ioc.run_for(timeout + std::chrono::seconds(1));
    if (failure) {
        result.error = std::string(url_text) + ": " + stage + ": " + failure.message();
        return result;
    }
    if (!parser.is_done()) {
        result.error = std::string(url_text) + ": timed out";
        return result;
    }
    auto res = parser.release();
    result.status = res.result_int();
    if (result.status < 200 || result.status >= 300) {
        result.error = std::string(url_text) + ": HTTP " + std::to_string(result.status) + " " +
                       std::string(res.reason());
        return result;
    }
    result.ok = true;
    result.body = std::move(res.body());
    return result;
}

}  // namespace imaging::http
