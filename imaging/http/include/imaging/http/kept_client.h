// HTTP/1.1 requests over one kept connection: what an agent that reports every interval uses,
// so that the server does not pay a TCP connect and a TLS handshake per report. Same requests,
// answers, bounds, verification and error texts as http_request (client.h).
//
// It holds one io_context, one TLS client context (its CA file loaded once, again only when a
// request names another) and at most one open connection, to the last authority (scheme, host,
// port) asked. A request to that authority reuses the connection while it is open, else
// connects. A request on a reused connection that fails before any byte of its response
// arrived (the server closed the connection while it was idle: end of stream, reset, broken
// pipe) is sent once more on a fresh connection; no other failure is retried (a timeout or a
// cut-off response may mean the server acted on it). A response with `Connection: close`, and
// any error, drops the connection.
//
// Not thread-safe: one thread's requests, one at a time.
#pragma once

#include <cstddef>
#include <memory>

#include "imaging/http/client.h"

namespace imaging::http {

class KeptClient {
public:
    KeptClient();
    ~KeptClient();
    KeptClient(const KeptClient&) = delete;
    KeptClient& operator=(const KeptClient&) = delete;

    // As http_request(request), on the kept connection when it can be.
    ClientResponse request(const ClientRequest& request);
    // Connections this client has opened (TCP connected), and the requests that were sent
    // again on a fresh one after the kept one turned out closed.
    std::size_t connections_opened() const;
    std::size_t retries() const;
    // Closes the kept connection, if any; the next request connects.
    void close();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace imaging::http
