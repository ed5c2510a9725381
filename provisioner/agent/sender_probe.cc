#include "provisioner/agent/sender_probe.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "imaging/http/client.h"

namespace provisioner::agent {
namespace {

// One non-blocking connect, waited for at most `timeout`.
bool connects(const addrinfo& ai, std::chrono::milliseconds timeout) {
    int fd = ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol);
    if (fd < 0) return false;
    bool ok = false;
    if (::connect(fd, ai.ai_addr, ai.ai_addrlen) == 0) {
        ok = true;
    } else if (errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int error = 0;
        socklen_t len = sizeof error;
        ok = ::poll(&p, 1, int(timeout.count())) == 1 &&
             ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0;
    }
    ::close(fd);
    return ok;
}

}  // namespace

const char* to_string(SenderState state) {
    switch (state) {
        case SenderState::answers:
            return "answers";
        case SenderState::silent:
            return "does not answer";
        case SenderState::unknown:
            return "cannot be asked";
    }
    return "?";
}

std::string sender_address(const Job& job) {
    switch (job.transport) {
        case wire::Transport::delta:
            return job.delta_from;
        case wire::Transport::torrent: {
            auto url = imaging::http::parse_http_url(job.torrent_url);
            if (!url) return "";
            bool v6 = url->host.find(':') != std::string::npos;
            return (v6 ? "[" + url->host + "]" : url->host) + ":" + url->port;
        }
        case wire::Transport::multicast:
            return "";
    }
    return "";
}

SenderState probe_address(const std::string& address, std::chrono::milliseconds timeout) {
    auto colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == address.size())
        return SenderState::silent;
    std::string host = address.substr(0, colon), port = address.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) return SenderState::silent;
    bool any = false;
    for (addrinfo* ai = found; ai && !any; ai = ai->ai_next) any = connects(*ai, timeout);
    ::freeaddrinfo(found);
    return any ? SenderState::answers : SenderState::silent;
}

SenderState probe_sender(const Job& job, std::chrono::milliseconds timeout) {
    std::string address = sender_address(job);
    return address.empty() ? SenderState::unknown : probe_address(address, timeout);
}

SenderState multicast_sender_heard(const std::string& error) {
    // imaging/multicast/receiver_engine.cc's failures where the sender was not there to the end.
    for (const char* unheard : {"no multicast session heard", "the sender has been silent",
                                "the sender ended the session"})
        if (error.find(unheard) != std::string::npos) return SenderState::unknown;
    return SenderState::answers;
}

}  // namespace provisioner::agent
