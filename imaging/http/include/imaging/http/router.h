// Request routing for imaging::http::Server: exact paths per method, like a small mux, and
// prefixes ("/api/v1/hosts/") for paths that carry an id. A handler answers with a Reply: a
// response held in memory, or one whose body is a file the session streams from disk.
// Handlers run on the server's I/O threads, so they must be quick and must not block on I/O.
// A handler that throws yields 500; the exception never leaves the session.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

#include "imaging/status.h"

namespace imaging::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
// A body streamed from a file in pieces (Beast's file_body): netboot kernels and initramfs,
// VM templates, which are tens of MiB to GiB and would otherwise be read into memory once per
// request.
using FileResponse = bhttp::response<bhttp::file_body>;

// What a handler answers; a Response or a FileResponse converts to it.
class Reply {
public:
    Reply(Response response) : v_(std::move(response)) {}
    Reply(FileResponse response) : v_(std::move(response)) {}

    bool is_file() const { return std::holds_alternative<FileResponse>(v_); }
    Response& text() { return std::get<Response>(v_); }
    FileResponse& file() { return std::get<FileResponse>(v_); }
    unsigned result_int() const;
    bool keep_alive() const;
    void keep_alive(bool on);
    // The reply held in memory, a file's bytes read in (for tests and small bodies).
    Response into_text() &&;

private:
    std::variant<Response, FileResponse> v_;
};

struct RequestContext {
    boost::asio::ip::tcp::endpoint remote;  // the peer of the TCP connection
    bool secure = false;                    // the request came over TLS
};

using Handler = std::function<Reply(const Request&, const RequestContext&)>;

// A response with keep-alive and version taken from req, and Content-Length set.
Response make_response(const Request& req, bhttp::status status, std::string body,
                       std::string_view content_type = "text/plain");

// A response streaming the file at path, with keep-alive and version from req and
// Content-Length set; an error naming the file when it cannot be opened.
Result<FileResponse> make_file_response(const Request& req, bhttp::status status,
                                        const std::string& path,
                                        std::string_view content_type = "application/octet-stream");

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
    Reply route(const Request& req, const RequestContext& ctx) const;

private:
    // The route that serves path: its exact entries, else those of the longest matching prefix.
    const std::map<bhttp::verb, Handler>* find(std::string_view path) const;

    std::map<std::string, std::map<bhttp::verb, Handler>, std::less<>> exact_;
    std::map<std::string, std::map<bhttp::verb, Handler>, std::less<>> prefixes_;
    ErrorFormat error_format_;
};

}  // namespace imaging::http
