// Request routing for imaging::http::Server: exact paths per method, like a small mux.
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

class Router {
public:
    // Registers handler for method + exact path; a later add for the same pair replaces it.
    void add(bhttp::verb method, std::string path, Handler handler);
    // 404 for an unknown path, 405 (with Allow) for a known path and another method.
    Response route(const Request& req, const RequestContext& ctx) const;

private:
    std::map<std::pair<std::string, bhttp::verb>, Handler, std::less<>> routes_;
};

}  // namespace imaging::http
