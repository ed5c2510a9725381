// A response that stays open and carries what its source produces, as it produces it: what
// server-sent events (text/event-stream) need. The session writes the head, then asks the
// source for each next piece and writes it; between pieces it holds no thread, neither an I/O
// thread nor a worker of the pool, so a thousand idle streams cost a thousand sockets only.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/beast/http.hpp>

namespace imaging::http {

// Thread-safe: next() and cancel() may be called from any thread, and deliver may be called
// from any thread (the session goes back to its own strand).
class StreamSource {
  public:
    using Deliver = std::function<void(std::optional<std::string> piece)>;
    virtual ~StreamSource() = default;
    // Calls deliver exactly once, now or later, with the next bytes of the body, or with
    // nullopt when the stream is over (the connection is then closed). The session asks again
    // only after the piece is written. A source should deliver something (an SSE comment)
    // every few seconds even when idle: a write is how a vanished client is noticed.
    virtual void next(Deliver deliver) = 0;
    // The connection is gone: drop a pending deliver without calling it (it holds the
    // session) and everything kept for this stream. Called at most once; next() is not
    // called afterwards.
    virtual void cancel() = 0;
};

// The head (status and headers; its body is ignored) and the source of the body. The session
// sends it with Connection: close and no length: the body ends when the connection does.
struct StreamResponse {
    boost::beast::http::response<boost::beast::http::string_body> head;
    std::shared_ptr<StreamSource> source;
};

}  // namespace imaging::http
