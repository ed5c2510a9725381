// A TCP connection carrying delta messages, with a time limit on every read and write so that a
// peer that vanishes or stalls ends the conversation with an error instead of hanging it.
// Not thread-safe: one thread uses a stream at a time.
#pragma once

#include <utility>  // before Asio: Boost 1.74 uses std::exchange without it
#include <boost/asio.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "imaging/status.h"
#include "wire.h"

namespace imaging::delta {

class FramedStream {
public:
    using Duration = std::chrono::steady_clock::duration;

    // "ADDR:PORT" (a host name or IPv4/IPv6 literal; [v6]:port also works).
    static Result<std::unique_ptr<FramedStream>> connect(const std::string& address, Duration timeout);
    FramedStream(std::unique_ptr<boost::asio::io_context> io, boost::asio::ip::tcp::socket socket);

    Status send(MsgType type, std::span<const std::uint8_t> body, Duration timeout);
    // The whole message (header and body) must arrive within `timeout`; a header promising
    // more than `max_body` bytes is refused before anything is allocated for it.
    Result<Message> receive(Duration timeout, std::uint32_t max_body = kMaxMessageBody);
    // Best-effort: tells the peer why we are giving up.
    void send_error(const std::string& text);

    std::uint64_t bytes_in() const { return bytes_in_; }
    std::uint64_t bytes_out() const { return bytes_out_; }
    std::string peer() const { return peer_; }

private:
    template <class Start>
    boost::system::error_code run(Start start, Duration timeout);

    std::unique_ptr<boost::asio::io_context> io_;
    boost::asio::ip::tcp::socket socket_;
    std::string peer_;
    std::uint64_t bytes_in_ = 0;
    std::uint64_t bytes_out_ = 0;
};

// Splits "host:port" / "[v6]:port"; an error names what is wrong.
Result<std::pair<std::string, std::string>> split_host_port(const std::string& address);

}  // namespace imaging::delta
