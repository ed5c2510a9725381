// One HTTP/1.1 connection: reads requests within the Limits, routes them, writes responses,
// keeps the connection alive while the client asks for it. Each step is a do_X/on_X pair that
// holds shared_from_this(), so the session lives exactly as long as an operation is pending.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "imaging/http/router.h"

namespace imaging::http {

class SharedState;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
public:
    HttpSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<SharedState> state);
    ~HttpSession();

    // Admits the session (or answers 503 when the server is full) and starts reading.
    void run();
    // Closes the connection from any thread; pending operations end with an error.
    void close();

private:
    void do_read();
    void on_read(boost::beast::error_code ec, std::size_t bytes);
    void send(Reply reply, bool close_after);
    void write_file_piece(bool close_after);
    void on_write(bool close_after, boost::beast::error_code ec, std::size_t bytes);
    void do_close();

    boost::beast::tcp_stream stream_;
    boost::beast::flat_buffer buffer_;
    std::shared_ptr<SharedState> state_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    std::shared_ptr<Reply> reply_;  // kept alive until its write completes
    // A file reply is written piece by piece, the write timeout renewed for each piece, so
    // that a big file on a slow link is not cut off while it still moves.
    std::optional<bhttp::response_serializer<bhttp::file_body>> file_writer_;
    boost::asio::ip::tcp::endpoint remote_;
    std::size_t served_ = 0;
    bool joined_ = false;
};

}  // namespace imaging::http
