#include "http_session.h"

#include <array>
#include <chrono>
#include <exception>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/detect_ssl.hpp>

#include "imaging/http/tls.h"
#include "imaging/http/worker_pool.h"
#include "shared_state.h"

namespace imaging::http {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;

template <class Stream>
HttpSession<Stream>::HttpSession(Stream&& stream, beast::flat_buffer&& buffer,
                                 std::shared_ptr<SharedState> state)
    : stream_(std::move(stream)), buffer_(std::move(buffer)), state_(std::move(state)) {
    beast::error_code ec;
    remote_ = tcp().socket().remote_endpoint(ec);
}

template <class Stream>
HttpSession<Stream>::~HttpSession() {
    if (joined_) state_->leave(this);
}

template <class Stream>
void HttpSession<Stream>::run() {
    // Runs on the session's strand from here on, so no member is touched concurrently.
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
        self->joined_ = self->state_->join(self);
        if constexpr (kTls) {
            // A full server has no way to say so before the handshake; it just closes.
            if (!self->joined_) return self->do_close();
            self->tcp().expires_after(self->state_->limits().request_timeout);
            self->stream_.async_handshake(
                ssl::stream_base::server, self->buffer_.data(),
                beast::bind_front_handler(&HttpSession<Stream>::on_handshake, self));
        } else {
            if (!self->joined_) {
                self->send(self->state_->router().error(bhttp::status::service_unavailable,
                                                        "server busy", 11, false),
                           true);
                return;
            }
            self->do_read();
        }
    });
}

template <class Stream>
void HttpSession<Stream>::on_handshake(beast::error_code ec, std::size_t used) {
    if (ec) return do_close();  // not TLS after all, a client that distrusts us, a timeout
    buffer_.consume(used);
    do_read();
}

template <class Stream>
void HttpSession<Stream>::close() {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
        self->cancel_stream();
        beast::error_code ec;
        self->tcp().socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
        self->tcp().close();
    });
}

template <class Stream>
void HttpSession<Stream>::do_read() {
    if (served_ == 0 || buffer_.size() > 0) return read_request();
    const auto& limits = state_->limits();
    tcp().expires_after(limits.idle_timeout.count() > 0 ? limits.idle_timeout
                                                        : limits.request_timeout);
    this->idle_since = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now().time_since_epoch())
                           .count();
    stream_.async_read_some(
        buffer_.prepare(4096),
        [self = this->shared_from_this()](beast::error_code ec, std::size_t bytes) {
            self->idle_since = 0;
            if (ec) return self->do_close();  // gone, idle too long, or evicted
            self->buffer_.commit(bytes);
            self->read_request();
        });
}

template <class Stream>
void HttpSession<Stream>::read_request() {
    const auto& limits = state_->limits();
    parser_.emplace();
    parser_->body_limit(limits.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    tcp().expires_after(limits.request_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&HttpSession<Stream>::on_read, this->shared_from_this()));
}

template <class Stream>
void HttpSession<Stream>::on_read(beast::error_code ec, std::size_t) {
    request_read_at_ = std::chrono::steady_clock::now();
    request_method_ = bhttp::verb::unknown;
    request_route_ = nullptr;
    if (ec == bhttp::error::body_limit) {
        observe(413);
        return send(state_->router().error(bhttp::status::payload_too_large,
                                           "request body too large", 11, false),
                    true);
    }
    if (ec == bhttp::error::header_limit) {
        observe(431);
        return send(state_->router().error(bhttp::status::request_header_fields_too_large,
                                           "request header too large", 11, false),
                    true);
    }
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout) return do_close();
    if (ec) {
        // A malformed request: say so when the socket still works, then close.
        if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
            observe(400);
            return send(state_->router().error(bhttp::status::bad_request,
                                               "bad request: " + ec.message(), 11, false),
                        true);
        }
        return do_close();
    }
    Request req = parser_->release();
    request_method_ = req.method();
    const bool keep_alive = req.keep_alive();
    const TlsOptions* tls = state_->tls();
    std::string_view path = target_path(std::string_view(req.target().data(), req.target().size()));
    if (!kTls && tls && !tls->plain_allowed(path)) {
        // Refused before routing: over plain HTTP only what firmware fetches is served.
        std::string host(req[bhttp::field::host]);
        if (host.empty()) host = "this server";
        return finish(state_->router().error(bhttp::status::forbidden,
                                             "this path is served over HTTPS only: use https://" +
                                                 host + std::string(path),
                                             req.version(), keep_alive),
                      keep_alive);
    }
    RouteMatch found = state_->router().match(req);
    if (!found.handler) return finish(std::move(*found.error), keep_alive);
    request_route_ = found.route;
    RequestContext ctx{remote_, kTls, std::move(found.params)};
    WorkerPool* pool = state_->pool();
    if (found.dispatch == Dispatch::io_thread || !pool)
        return finish(invoke(*found.handler, req, ctx), keep_alive);
    // Shared, not moved into the job: a job the pool refuses or drops is destroyed, not run.
    auto job = std::make_shared<std::pair<Request, RequestContext>>(std::move(req), std::move(ctx));
    const unsigned version = job->first.version();
    const bool posted = pool->try_post([self = this->shared_from_this(), job,
                                        handler = found.handler, keep_alive] {
        auto reply = std::make_shared<Reply>(self->invoke(*handler, job->first, job->second));
        net::post(self->stream_.get_executor(), [self, reply, keep_alive] {
            self->finish(std::move(*reply), keep_alive);
        });
    });
    if (posted) return;
    Response busy = state_->router().error(bhttp::status::service_unavailable,
                                           "the server is busy; retry shortly", version,
                                           keep_alive);
    busy.set(bhttp::field::retry_after, "1");
    finish(std::move(busy), keep_alive);
}

template <class Stream>
void HttpSession<Stream>::observe(unsigned status) {
    const RequestObserver& observer = state_->router().observer();
    if (!observer) return;
    observer(RequestRecord{request_method_, request_route_, status,
                           std::chrono::steady_clock::now() - request_read_at_});
}

template <class Stream>
void HttpSession<Stream>::finish(Reply res, bool request_keep_alive) {
    if (res.is_deferred()) return start_deferred(std::move(res.deferred()), request_keep_alive);
    ++served_;
    observe(res.result_int());
    bool close_after = !request_keep_alive || !res.keep_alive() ||
                       served_ >= state_->limits().max_requests_per_connection ||
                       state_->stopped();
    if (close_after) res.keep_alive(false);
    send(std::move(res), close_after);
}

template <class Stream>
Reply HttpSession<Stream>::invoke(const Handler& handler, const Request& req,
                                  const RequestContext& ctx) const {
    try {
        return handler(req, ctx);
    } catch (const std::exception& e) {
        // What went wrong inside is for the server's log, never for whoever sent the request.
        std::cerr << "http: " << req.method_string() << " " << req.target()
                  << ": internal error: " << e.what() << std::endl;
    } catch (...) {
    }
    return state_->router().error(bhttp::status::internal_server_error, "internal error", 11,
                                  false);
}

template <class Stream>
void HttpSession<Stream>::send(Reply reply, bool close_after) {
    reply_ = std::make_shared<Reply>(std::move(reply));
    if (reply_->is_stream()) return start_stream();
    if (reply_->is_file()) {
        file_writer_.emplace(reply_->file());
        return write_file_piece(close_after);
    }
    tcp().expires_after(state_->limits().write_timeout);
    bhttp::async_write(
        stream_, reply_->text(),
        beast::bind_front_handler(&HttpSession<Stream>::on_write, this->shared_from_this(), close_after));
}

template <class Stream>
void HttpSession<Stream>::write_file_piece(bool close_after) {
    tcp().expires_after(state_->limits().write_timeout);
    bhttp::async_write_some(
        stream_, *file_writer_,
        [self = this->shared_from_this(), close_after](beast::error_code ec, std::size_t bytes) {
            if (ec || self->file_writer_->is_done()) return self->on_write(close_after, ec, bytes);
            self->write_file_piece(close_after);
        });
}

template <class Stream>
void HttpSession<Stream>::start_stream() {
    StreamResponse& out = reply_->stream();
    stream_source_ = std::move(out.source);
    auto& head = out.head;
    head.keep_alive(false);
    head.erase(bhttp::field::content_length);
    head.erase(bhttp::field::transfer_encoding);
    std::ostringstream text;
    text << head.base();
    reply_.reset();
    if (!stream_source_) return do_close();
    on_stream_piece(text.str());
}

template <class Stream>
void HttpSession<Stream>::stream_next() {
    // Quiet is fine: the source's own keep-alive pieces find out when the client is gone.
    tcp().expires_never();
    stream_source_->next([self = this->shared_from_this()](std::optional<std::string> piece) {
        net::post(self->stream_.get_executor(), [self, piece = std::move(piece)]() mutable {
            self->on_stream_piece(std::move(piece));
        });
    });
}

template <class Stream>
void HttpSession<Stream>::on_stream_piece(std::optional<std::string> piece) {
    if (!stream_source_) return;  // cancelled meanwhile
    if (!piece) {
        stream_source_.reset();  // ended by the source: nothing to cancel
        return do_close();
    }
    stream_piece_ = std::make_shared<std::string>(std::move(*piece));
    tcp().expires_after(state_->limits().write_timeout);
    net::async_write(stream_, net::buffer(*stream_piece_),
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                         self->stream_piece_.reset();
                         if (ec || !self->stream_source_) return self->do_close();
                         self->stream_next();
                     });
}

template <class Stream>
void HttpSession<Stream>::cancel_stream() {
    if (auto source = std::move(stream_source_)) source->cancel();
    cancel_deferred();
}

template <class Stream>
void HttpSession<Stream>::start_deferred(DeferredResponse pending, bool request_keep_alive) {
    auto timer = std::make_shared<net::steady_timer>(stream_.get_executor(), pending.limit);
    deferred_timer_ = timer;
    auto fallback = std::make_shared<Response>(std::move(pending.fallback));
    timer->async_wait([self = this->shared_from_this(), timer, fallback,
                       request_keep_alive](beast::error_code) {
        if (self->deferred_timer_ != timer) return;  // answered, or closed
        self->deferred_timer_.reset();
        self->finish(Reply(std::move(*fallback)), request_keep_alive);
    });
    if (!pending.start) return;
    // The timer's wait holds the session until the answer, the limit or a close; the answer's
    // way back holds it weakly, so that work still running elsewhere (a BMC call) does not
    // keep a closed session, nor a stopping server, waiting for it.
    // The timer too: it must go with its io_context, never later with the answer's holder.
    std::weak_ptr<HttpSession> weak = this->shared_from_this();
    std::weak_ptr<net::steady_timer> weak_timer = timer;
    pending.start([weak, weak_timer, request_keep_alive](Response answer) {
        auto self = weak.lock();
        if (!self) return;
        net::post(self->stream_.get_executor(),
                  [self, weak_timer, request_keep_alive, answer = std::move(answer)]() mutable {
                      auto timer = weak_timer.lock();
                      if (!timer || self->deferred_timer_ != timer) return;  // too late, closed
                      self->deferred_timer_.reset();
                      timer->cancel();
                      self->finish(Reply(std::move(answer)), request_keep_alive);
                  });
    });
}

template <class Stream>
void HttpSession<Stream>::cancel_deferred() {
    if (auto timer = std::move(deferred_timer_)) timer->cancel();
}

template <class Stream>
void HttpSession<Stream>::on_write(bool close_after, beast::error_code ec, std::size_t) {
    file_writer_.reset();
    reply_.reset();
    if (ec) return do_close();
    if (close_after) return do_close();
    do_read();
}

template <class Stream>
void HttpSession<Stream>::do_close() {
    cancel_stream();
    if constexpr (kTls) {
        // A lingering close, as plain HTTP's half-close gives: a client still sending a body
        // we refused (413) reads our answer instead of a reset. No close_notify: every
        // response has its length, so the client knows it has it all. Bounded in time and
        // bytes.
        beast::error_code ec;
        tcp().socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
        tcp().expires_after(std::chrono::seconds(2));
        drain(0);
    } else {
        beast::error_code ec;
        tcp().socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
        tcp().close();
    }
}

template <class Stream>
void HttpSession<Stream>::drain(std::size_t drained) {
    constexpr std::size_t kMaxDrained = 64 << 20;
    auto sink = std::make_shared<std::array<char, 16384>>();
    tcp().socket().async_read_some(
        net::buffer(*sink), [self = this->shared_from_this(), sink, drained](
                                beast::error_code ec, std::size_t n) {
            if (ec || drained + n > kMaxDrained) return self->tcp().close();
            self->drain(drained + n);
        });
}

template class HttpSession<PlainStream>;
template class HttpSession<TlsStream>;

ProtocolDetector::ProtocolDetector(net::ip::tcp::socket&& socket,
                                   std::shared_ptr<SharedState> state)
    : stream_(std::move(socket)), state_(std::move(state)) {}

void ProtocolDetector::run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
        self->stream_.expires_after(self->state_->limits().request_timeout);
        beast::async_detect_ssl(
            self->stream_, self->buffer_,
            beast::bind_front_handler(&ProtocolDetector::on_detect, self));
    });
}

void ProtocolDetector::on_detect(beast::error_code ec, bool tls) {
    if (ec) {
        beast::error_code ignored;
        stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
        stream_.close();
        return;
    }
    stream_.expires_never();
    if (tls) {
        std::make_shared<HttpSession<TlsStream>>(
            TlsStream(std::move(stream_), *state_->tls()->context), std::move(buffer_), state_)
            ->run();
    } else {
        std::make_shared<HttpSession<PlainStream>>(std::move(stream_), std::move(buffer_), state_)
            ->run();
    }
}

}  // namespace imaging::http
