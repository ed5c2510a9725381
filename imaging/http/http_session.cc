#include "http_session.h"

#include <exception>
#include <iostream>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "shared_state.h"

namespace imaging::http {

namespace beast = boost::beast;
namespace net = boost::asio;

namespace {

}  // namespace

HttpSession::HttpSession(net::ip::tcp::socket&& socket, std::shared_ptr<SharedState> state)
    : stream_(std::move(socket)), state_(std::move(state)) {
    beast::error_code ec;
    remote_ = stream_.socket().remote_endpoint(ec);
}

HttpSession::~HttpSession() {
    if (joined_) state_->leave(this);
}

void HttpSession::run() {
    // Runs on the session's strand from here on, so no member is touched concurrently.
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
        self->joined_ = self->state_->join(self);
        if (!self->joined_) {
            self->send(self->state_->router().error(bhttp::status::service_unavailable, "server busy", 11, false), true);
            return;
        }
        self->do_read();
    });
}

void HttpSession::close() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
        beast::error_code ec;
        self->stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
        self->stream_.close();
    });
}

void HttpSession::do_read() {
    const auto& limits = state_->limits();
    parser_.emplace();
    parser_->body_limit(limits.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    stream_.expires_after(limits.request_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::body_limit) {
        return send(state_->router().error(bhttp::status::payload_too_large,
                                           "request body too large", 11, false),
                    true);
    }
    if (ec == bhttp::error::header_limit) {
        return send(state_->router().error(bhttp::status::request_header_fields_too_large,
                                           "request header too large", 11, false),
                    true);
    }
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout) return do_close();
    if (ec) {
        // A malformed request: say so when the socket still works, then close.
        if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
            return send(state_->router().error(bhttp::status::bad_request,
                                               "bad request: " + ec.message(), 11, false),
                        true);
        }
        return do_close();
    }
    Request req = parser_->release();
    Reply res = Response{};
    try {
        res = state_->router().route(req, RequestContext{remote_});
    } catch (const std::exception& e) {
        // What went wrong inside is for the server's log, never for whoever sent the request.
        std::cerr << "http: " << req.method_string() << " " << req.target()
                  << ": internal error: " << e.what() << std::endl;
        res = state_->router().error(bhttp::status::internal_server_error, "internal error", 11,
                                     false);
    } catch (...) {
        res = state_->router().error(bhttp::status::internal_server_error, "internal error", 11,
                                     false);
    }
    ++served_;
    bool close_after = !req.keep_alive() || !res.keep_alive() ||
                       served_ >= state_->limits().max_requests_per_connection ||
                       state_->stopped();
    if (close_after) res.keep_alive(false);
    send(std::move(res), close_after);
}

void HttpSession::send(Reply reply, bool close_after) {
    reply_ = std::make_shared<Reply>(std::move(reply));
    if (reply_->is_file()) {
        file_writer_.emplace(reply_->file());
        return write_file_piece(close_after);
    }
    stream_.expires_after(state_->limits().write_timeout);
    bhttp::async_write(
        stream_, reply_->text(),
        beast::bind_front_handler(&HttpSession::on_write, shared_from_this(), close_after));
}

void HttpSession::write_file_piece(bool close_after) {
    stream_.expires_after(state_->limits().write_timeout);
    bhttp::async_write_some(
        stream_, *file_writer_,
        [self = shared_from_this(), close_after](beast::error_code ec, std::size_t bytes) {
            if (ec || self->file_writer_->is_done()) return self->on_write(close_after, ec, bytes);
            self->write_file_piece(close_after);
        });
}

void HttpSession::on_write(bool close_after, beast::error_code ec, std::size_t) {
    file_writer_.reset();
    reply_.reset();
    if (ec) return do_close();
    if (close_after) return do_close();
    do_read();
}

void HttpSession::do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
    stream_.close();
}

}  // namespace imaging::http
