#include "framed_stream.h"

#include <algorithm>

namespace imaging::delta {

namespace asio = boost::asio;
using asio::ip::tcp;

Result<std::pair<std::string, std::string>> split_host_port(const std::string& address) {
    std::string host, port;
    if (!address.empty() && address.front() == '[') {
        auto close = address.find(']');
        if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':')
            return Status::error("bad address '" + address + "' (expected [ADDR]:PORT)");
        host = address.substr(1, close - 1);
        port = address.substr(close + 2);
    } else {
        auto colon = address.rfind(':');
        if (colon == std::string::npos) return Status::error("bad address '" + address + "' (expected ADDR:PORT)");
        host = address.substr(0, colon);
        port = address.substr(colon + 1);
    }
    if (host.empty() || port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port.size() > 6 ? "999999" : port) > 65535)
        return Status::error("bad address '" + address + "' (expected ADDR:PORT)");
    return std::pair{host, port};
}

FramedStream::FramedStream(std::unique_ptr<asio::io_context> io, tcp::socket socket)
    : io_(std::move(io)), socket_(std::move(socket)) {
    boost::system::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    peer_ = ec ? "peer" : ep.address().to_string() + ":" + std::to_string(ep.port());
    socket_.set_option(tcp::no_delay(true), ec);
    socket_.set_option(asio::socket_base::keep_alive(true), ec);
}

template <class Start>
boost::system::error_code FramedStream::run(Start start, Duration timeout) {
    boost::system::error_code result = asio::error::would_block;
    start([&](const boost::system::error_code& ec, std::size_t) { result = ec; });
    io_->restart();
    io_->run_for(timeout);
    if (result == asio::error::would_block) {
        // Timed out: closing the socket completes the pending operation with operation_aborted.
        boost::system::error_code ignored;
        socket_.close(ignored);
        io_->restart();
        io_->run();
        return asio::error::timed_out;
    }
    return result;
}

Result<std::unique_ptr<FramedStream>> FramedStream::connect(const std::string& address, Duration timeout) {
    auto hp = split_host_port(address);
    if (!hp) return hp.status();
    auto io = std::make_unique<asio::io_context>();
    tcp::resolver resolver(*io);
    boost::system::error_code ec;
    auto endpoints = resolver.resolve(hp->first, hp->second, ec);
    if (ec) return Status::error("cannot resolve " + address + ": " + ec.message());
    tcp::socket socket(*io);
    boost::system::error_code result = asio::error::would_block;
    asio::async_connect(socket, endpoints, [&](const boost::system::error_code& e, const tcp::endpoint&) { result = e; });
    io->run_for(timeout);
    if (result == asio::error::would_block) {
        socket.close(ec);
        io->restart();
        io->run();
        return Status::error("cannot connect to " + address + ": timed out");
    }
    if (result) return Status::error("cannot connect to " + address + ": " + result.message());
    return std::make_unique<FramedStream>(std::move(io), std::move(socket));
}

Status FramedStream::send(MsgType type, std::span<const std::uint8_t> body, Duration timeout) {
    std::uint8_t header[5];
    std::uint32_t len = std::uint32_t(body.size());
    std::memcpy(header, &len, 4);
    header[4] = std::uint8_t(type);
    std::array<asio::const_buffer, 2> bufs{asio::buffer(header), asio::buffer(body.data(), body.size())};
    auto ec = run([&](auto handler) { asio::async_write(socket_, bufs, handler); }, timeout);
    if (ec) return Status::error("sending to " + peer_ + ": " + (ec == asio::error::timed_out ? std::string("timed out") : ec.message()));
    bytes_out_ += sizeof header + body.size();
    return Status::ok();
}

Result<Message> FramedStream::receive(Duration timeout, std::uint32_t max_body) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto left = [&] { return std::max<Duration>(deadline - std::chrono::steady_clock::now(), Duration::zero()); };
    std::uint8_t header[5];
    auto ec = run([&](auto handler) { asio::async_read(socket_, asio::buffer(header), handler); }, timeout);
    auto describe = [&](const boost::system::error_code& e) {
        if (e == asio::error::eof || e == asio::error::connection_reset)
            return "connection to " + peer_ + " lost (peer closed it)";
        if (e == asio::error::timed_out) return "no answer from " + peer_ + " (timed out)";
        return "receiving from " + peer_ + ": " + e.message();
    };
    if (ec) return Status::error(describe(ec));
    std::uint32_t len;
    std::memcpy(&len, header, 4);
    if (len > max_body)
        return Status::error(peer_ + " sent a " + std::to_string(len) + "-byte message (limit " +
                             std::to_string(max_body) + ")");
    Message m;
    m.type = MsgType(header[4]);
    // Grown as the bytes arrive: the header's promise alone allocates at most one step.
    while (m.body.size() < len) {
        std::size_t have = m.body.size();
        std::size_t step = std::min<std::size_t>(kReadStep, len - have);
        m.body.resize(have + step);
        ec = run([&](auto handler) { asio::async_read(socket_, asio::buffer(m.body.data() + have, step), handler); },
                 left());
        if (ec) return Status::error(describe(ec));
    }
    bytes_in_ += sizeof header + len;
    if (m.type == MsgType::kError)
        return Status::error(peer_ + " reported: " + std::string(m.body.begin(), m.body.end()));
    return m;
}

void FramedStream::send_error(const std::string& text) {
    (void)send(MsgType::kError, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()},
               std::chrono::seconds(2));
}

}  // namespace imaging::delta
