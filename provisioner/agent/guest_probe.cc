// The guest agent's two looks at the network (guest.h): whether a local port answers, and the
// address this guest reaches the server from.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "imaging/http/client.h"
#include "provisioner/agent/guest.h"
#include "provisioner/agent/network.h"

namespace provisioner::agent {
namespace {

// A socket that closes itself.
struct Socket {
    int fd;
    explicit Socket(int type) : fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0)) {}
    ~Socket() {
        if (fd >= 0) ::close(fd);
    }
};

sockaddr_in ipv4(std::uint32_t address, std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(address);
    a.sin_port = htons(port);
    return a;
}

}  // namespace

bool tcp_port_answers(std::uint16_t port, std::chrono::milliseconds timeout) {
    Socket s(SOCK_STREAM | SOCK_NONBLOCK);
    if (s.fd < 0) return false;
    sockaddr_in to = ipv4(INADDR_LOOPBACK, port);
    if (::connect(s.fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) return true;
    if (errno != EINPROGRESS) return false;
    pollfd p{s.fd, POLLOUT, 0};
    if (::poll(&p, 1, int(timeout.count())) != 1) return false;
    int error = 0;
    socklen_t length = sizeof error;
    return ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
}

std::string local_address_towards(const std::string& server_url) {
    auto url = imaging::http::parse_http_url(server_url);
    auto server = server_ipv4(server_url);
    if (!url || !server) return "";
    unsigned port = 80;
    try {
        port = unsigned(std::stoul(url->port));
    } catch (const std::exception&) {
    }
    // Connecting a UDP socket sends nothing: it only picks the route, and so the source.
    Socket s(SOCK_DGRAM);
    sockaddr_in to = ipv4(*server, std::uint16_t(port));
    if (s.fd < 0 || ::connect(s.fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return "";
    sockaddr_in local{};
    socklen_t length = sizeof local;
    if (::getsockname(s.fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) return "";
    char text[INET_ADDRSTRLEN] = {};
    if (!::inet_ntop(AF_INET, &local.sin_addr, text, sizeof text)) return "";
    return text;
}

}  // namespace provisioner::agent
