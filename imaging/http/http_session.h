// One HTTP/1.1 connection, plain or TLS: reads requests within the Limits, routes them, writes
// responses, keeps the connection alive while the client asks for it. Each step is a do_X/on_X
// pair that holds shared_from_this(), so the session lives exactly as long as an operation is
// pending. A worker_pool route's handler runs on the pool, holding the session; its reply is
// posted back to the session's strand and written there (a deferred reply's answer too, when
// it comes). Requests on one connection are served
// one at a time, in order (pipelined ones wait in the read buffer).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "imaging/http/router.h"

namespace imaging::http {

class SharedState;

// What SharedState tracks of a session, whatever its stream.
class Session {
public:
    virtual ~Session() = default;
    // Closes the connection from any thread; pending operations end with an error.
    virtual void close() = 0;
    // While a kept connection waits for its next request: when it began (steady clock, ns);
    // 0 otherwise. SharedState closes the one idle longest to admit a new connection.
    std::atomic<std::int64_t> idle_since{0};
};

using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// Stream: PlainStream or TlsStream (explicitly instantiated for those two only).
template <class Stream>
class HttpSession : public Session, public std::enable_shared_from_this<HttpSession<Stream>> {
public:
    // buffer: bytes already read from the connection (the first byte the listener looked at
    // to tell TLS from plain HTTP), parsed before anything else is read.
    HttpSession(Stream&& stream, boost::beast::flat_buffer&& buffer,
                std::shared_ptr<SharedState> state);
    ~HttpSession() override;

    // Admits the session (or answers 503 when the server is full), does the TLS handshake
    // for a TlsStream, and starts reading.
    void run();
    void close() override;

private:
    static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
    PlainStream& tcp() { return boost::beast::get_lowest_layer(stream_); }
    void on_handshake(boost::beast::error_code ec, std::size_t used);
    // Between requests of a kept connection: waits up to idle_timeout for a first byte;
    // then (and on a new connection at once) reads the request within request_timeout.
    void do_read();
    void read_request();
    void on_read(boost::beast::error_code ec, std::size_t bytes);
    // Runs handler on this thread; its exception becomes a 500.
    Reply invoke(const Handler& handler, const Request& req, const RequestContext& ctx) const;
    // The reply to a request: Connection as the request, the limits and the server say.
    void finish(Reply reply, bool request_keep_alive);
    // Tells the router's observer (if any) of the request answered with status.
    void observe(unsigned status);
    void send(Reply reply, bool close_after);
    void write_file_piece(bool close_after);
    // A StreamResponse: the head, then each piece its source delivers, until it ends or the
    // connection does. No timer runs while the source is quiet; each write has write_timeout.
    void start_stream();
    void stream_next();
    void on_stream_piece(std::optional<std::string> piece);
    void cancel_stream();
    // A DeferredResponse: nothing is written until its answer comes (posted back to this
    // strand) or its limit passes (its fallback is written); a close drops both.
    void start_deferred(DeferredResponse pending, bool request_keep_alive);
    void cancel_deferred();
    void on_write(bool close_after, boost::beast::error_code ec, std::size_t bytes);
    void do_close();
    void drain(std::size_t drained);  // TLS: reads and drops what the client still sends

    Stream stream_;
    boost::beast::flat_buffer buffer_;
    std::shared_ptr<SharedState> state_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    std::shared_ptr<Reply> reply_;  // kept alive until its write completes
    // A file reply is written piece by piece, the write timeout renewed for each piece, so
    // that a big file on a slow link is not cut off while it still moves.
    std::optional<bhttp::response_serializer<bhttp::file_body>> file_writer_;
    std::shared_ptr<StreamSource> stream_source_;  // set while a stream is open
    std::shared_ptr<std::string> stream_piece_;    // kept alive until its write completes
    // Set while a deferred answer is awaited; whichever of the answer and the limit finds it
    // still this timer is the one that is written.
    std::shared_ptr<boost::asio::steady_timer> deferred_timer_;
    boost::asio::ip::tcp::endpoint remote_;
    // The request being answered, for the observer: when its last byte was read, its method,
    // and its route (null until routed).
    std::chrono::steady_clock::time_point request_read_at_{};
    bhttp::verb request_method_ = bhttp::verb::unknown;
    const std::string* request_route_ = nullptr;
    std::size_t served_ = 0;
    bool joined_ = false;
};

extern template class HttpSession<PlainStream>;
extern template class HttpSession<TlsStream>;

// On a port that speaks both: reads the first byte of a connection (within the request
// timeout) and hands the connection to an HttpSession<TlsStream> when it starts a TLS
// handshake, else to an HttpSession<PlainStream>.
class ProtocolDetector : public std::enable_shared_from_this<ProtocolDetector> {
public:
    ProtocolDetector(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<SharedState> state);
    void run();

private:
    void on_detect(boost::beast::error_code ec, bool tls);
    PlainStream stream_;
    boost::beast::flat_buffer buffer_;
    std::shared_ptr<SharedState> state_;
};

}  // namespace imaging::http
