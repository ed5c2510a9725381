// Request routing for imaging::http::Server: per method, exact paths, patterns with
// parameters ("/api/v1/hosts/{host}/dom0") and prefixes. A handler answers with a Reply: a
// response held in memory, or one whose body is a file the session streams from disk.
// Each route says where its handler runs (Dispatch): on the I/O thread that read the request,
// which must then be quick and touch nothing but memory, or on the server's worker pool
// (Limits::worker_threads), for anything that touches a store, a disk, a child process or the
// network. A handler that throws yields 500; the exception never leaves the session.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

#include "imaging/http/deferred.h"
#include "imaging/http/stream.h"
#include "imaging/status.h"

namespace imaging::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
// A body streamed from a file in pieces (Beast's file_body): netboot kernels and initramfs,
// VM templates, which are tens of MiB to GiB and would otherwise be read into memory once per
// request.
using FileResponse = bhttp::response<bhttp::file_body>;

// What a handler answers; a Response, a FileResponse, a StreamResponse or a DeferredResponse
// converts to it. A deferred reply's status and keep-alive are its fallback's.
class Reply {
public:
    Reply(Response response) : v_(std::move(response)) {}
    Reply(FileResponse response) : v_(std::move(response)) {}
    Reply(StreamResponse response) : v_(std::move(response)) {}
    Reply(DeferredResponse response) : v_(std::move(response)) {}

    bool is_file() const { return std::holds_alternative<FileResponse>(v_); }
    bool is_stream() const { return std::holds_alternative<StreamResponse>(v_); }
    bool is_deferred() const { return std::holds_alternative<DeferredResponse>(v_); }
    Response& text() { return std::get<Response>(v_); }
    FileResponse& file() { return std::get<FileResponse>(v_); }
    StreamResponse& stream() { return std::get<StreamResponse>(v_); }
    DeferredResponse& deferred() { return std::get<DeferredResponse>(v_); }
    unsigned result_int() const;
    bool keep_alive() const;
    void keep_alive(bool on);
    // The reply held in memory, a file's bytes read in (for tests and small bodies); a
    // stream's head alone (its source is cancelled); a deferred reply's answer, waited for on
    // this thread within its limit (else its fallback).
    Response into_text() &&;

private:
    std::variant<Response, FileResponse, StreamResponse, DeferredResponse> v_;
};

// The values of a route pattern's {name} segments, percent-decoded.
class PathParams {
public:
    void add(std::string name, std::string value);
    // The value of {name}; nullptr when the pattern has no such parameter.
    const std::string* find(std::string_view name) const;
    // The value of {name}, or "" when there is none.
    std::string get(std::string_view name) const;
    bool empty() const { return values_.empty(); }

private:
    std::vector<std::pair<std::string, std::string>> values_;
};

struct RequestContext {
    boost::asio::ip::tcp::endpoint remote;  // the peer of the TCP connection
    bool secure = false;                    // the request came over TLS
    PathParams params;                      // set by the router from the route's pattern
};

using Handler = std::function<Reply(const Request&, const RequestContext&)>;

// Where a route's handler runs. io_thread: inline, on the thread that read the request (only
// for handlers that never block: in-memory state, constant answers). worker_pool: on the
// server's bounded pool; when its queue is full the request is answered 503 at once.
enum class Dispatch { io_thread, worker_pool };

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

// What the router found for a request: a handler to run (with where, and the path's
// parameters), or the error to answer instead (404, 405 with Allow, 400 for a malformed escape).
struct RouteMatch {
    const Handler* handler = nullptr;  // owned by the Router; null when error is set
    const std::string* route = nullptr;  // the pattern or prefix it was added with; null with error
    Dispatch dispatch = Dispatch::io_thread;
    PathParams params;
    std::optional<Response> error;
};

// One request the server answered, as its RequestObserver sees it: its method, the route that
// took it (the pattern as added, not the path: "/api/v1/hosts/{host}"; null for one no route
// took: 404, 405, a request refused before routing), the status sent, and the time from its
// last byte read to its answer handed to the connection (queueing for a worker included).
struct RequestRecord {
    bhttp::verb method = bhttp::verb::unknown;
    const std::string* route = nullptr;
    unsigned status = 0;
    std::chrono::nanoseconds duration{0};
};
// Called once per answered request on the connection's I/O thread: it must be quick and must
// not block (count with atomics).
using RequestObserver = std::function<void(const RequestRecord&)>;

class Router {
public:
    // Default: text/plain, the message and a newline.
    void set_error_format(ErrorFormat format) { error_format_ = std::move(format); }
    // An error in that format, for HTTP/1.version; Connection: close unless keep_alive.
    Response error(bhttp::status status, std::string_view message, unsigned version,
                   bool keep_alive) const;

    // Registers handler for method + pattern; a later add for the same pair replaces it. A
    // pattern is a path whose segments may be "{name}" (any one non-empty segment) or, last,
    // "{name...}" (the non-empty rest of the path, slashes included). An exact path wins over
    // a pattern; among patterns, the more specific wins, segment by segment from the left
    // (a literal over {name} over {name...}). The route of the path decides alone: a method
    // it lacks is 405, even when a less specific pattern has it.
    void add(bhttp::verb method, std::string pattern, Handler handler,
             Dispatch dispatch = Dispatch::io_thread);
    // Registers handler for method + every path that starts with prefix (which should end in
    // '/'), when no exact path or pattern matches; among prefixes the longest wins.
    void add_prefix(bhttp::verb method, std::string prefix, Handler handler,
                    Dispatch dispatch = Dispatch::io_thread);

    // The route of req, without running it.
    RouteMatch match(const Request& req) const;
    // Every method + pattern (or prefix) added, in the order added (a replaced pair once).
    const std::vector<std::pair<bhttp::verb, std::string>>& routes() const { return routes_; }
    // Told of every request the server answers (RequestRecord); none by default.
    void set_observer(RequestObserver observer) { observer_ = std::move(observer); }
    const RequestObserver& observer() const { return observer_; }
    // match(), then the handler on this thread, whatever its Dispatch (tests, fuzzing, a
    // server without a pool): 404 for an unknown path, 405 (with Allow) for another method.
    Reply route(const Request& req, const RequestContext& ctx) const;

private:
    struct Entry {
        Handler handler;
        Dispatch dispatch = Dispatch::io_thread;
        std::string route;  // the pattern or prefix
    };
    using Methods = std::map<bhttp::verb, Entry>;
    struct Segment {
        enum class Kind { literal, param, rest } kind = Kind::literal;
        std::string text;  // the literal, or the parameter's name
    };
    struct Pattern {
        std::vector<Segment> segments;
        Methods methods;
    };

    static std::vector<Segment> parse_pattern(std::string_view pattern);
    // Whether segments match path's pieces; the decoded parameters into params. A malformed
    // escape in a parameter sets bad_escape.
    static bool matches(const std::vector<Segment>& segments,
                        const std::vector<std::string_view>& pieces, PathParams& params,
                        bool& bad_escape);
    static bool more_specific(const std::vector<Segment>& a, const std::vector<Segment>& b);

    std::map<std::string, Methods, std::less<>> exact_;
    std::vector<Pattern> patterns_;
    std::map<std::string, Methods, std::less<>> prefixes_;
    std::vector<std::pair<bhttp::verb, std::string>> routes_;
    void note_route(bhttp::verb method, const std::string& route);
    ErrorFormat error_format_;
    RequestObserver observer_;
};

}  // namespace imaging::http
