// Request routing for imaging::http::Server: exact paths per method, like a small mux, and
// prefixes ("/api/v1/hosts/") for paths that carry an id.
// Handlers run on the server's I/O threads, so they must be quick and must not block on I/O.
// A handler that throws yields 500; the exception never leaves the session.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

namespace imaging::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

struct RequestContext {
    boost::asio::ip::tcp::endpoint remote;  // the peer of the TCP connection
};

using Handler = std::function<Response(const Request&, const RequestContext&)>;

// A response with keep-alive and version taken from req, and Content-Length set.
Response make_response(const Request& req, bhttp::status status, std::string body,
                       std::string_view content_type = "text/plain");

// The path of a request target, without the query ("/announce?x=1" -> "/announce").
std::string_view target_path(std::string_view target);

// How the errors the server answers by itself (404, 405, 413, 431, 500, 503) are written:
// content type and body from the status and a one-line message.
using ErrorFormat =
    std::function<std::pair<std::string, std::string>(bhttp::status, std::string_view message)>;

class Router {
public:
    // Default: text/plain, the message and a newline.
    void set_error_format(ErrorFormat format) { error_format_ = std::move(format); }
    // An error in that format, for HTTP/1.version; Connection: close unless keep_alive.
    Response error(bhttp::status status, std::string_view message, unsigned version,
                   bool keep_alive) const;

    // Registers handler for method + exact path; a later add for the same pair replaces it.
    void add(bhttp::verb method, std::string path, Handler handler);
    // Registers handler for method + every path that starts with prefix (which should end in
    // '/'). An exact route wins over a prefix; among prefixes the longest wins.
    void add_prefix(bhttp::verb method, std::string prefix, Handler handler);
    // 404 for an unknown path, 405 (with Allow) for a known path and another method.
    Response route(const Request& req, const RequestContext& ctx) const;

private:
    // The route that serves path: its exact entries, else those of the longest matching prefix.
    const std::map<bhttp::verb, Handler>* find(std::string_view path) const;

    std::map<std::string, std::map<bhttp::verb, Handler>, std::less<>> exact_;
    std::map<std::string, std::map<bhttp::verb, Handler>, std::less<>> prefixes_;
    ErrorFormat error_format_;
};

}  // namespace imaging::http
