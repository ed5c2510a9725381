// TLS for imaging::http: the server's certificate and key (an OpenSSL context shared by every
// session), which paths stay on plain HTTP beside it, and the trust the client verifies
// servers against.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "imaging/status.h"

namespace imaging::http {

// A server-side context (TLS 1.2 or later) holding cert_file (PEM, the leaf first, then any
// intermediates) and key_file (PEM); an error naming the file that does not load or the pair
// that does not match.
Result<std::shared_ptr<boost::asio::ssl::context>> make_server_tls_context(
    const std::string& cert_file, const std::string& key_file);

// How a Server with TLS treats its port: one port speaks both, told apart by the first byte of
// a connection (a TLS ClientHello starts with 0x16, an HTTP request with a letter). Requests
// over plain HTTP are served only when their path starts with one of plain_http_prefixes
// (what firmware fetches: iPXE scripts, the netboot kernel); any other gets 403 with a
// message that says to use https://.
struct TlsOptions {
    std::shared_ptr<boost::asio::ssl::context> context;
    std::vector<std::string> plain_http_prefixes;
    bool plain_allowed(std::string_view path) const;
};

// The CA file http_request verifies https:// servers against when a request names none
// (ClientRequest::ca_file). Empty (the start): the system's trusted CAs. Set it once, early
// (an agent's main, from its command line), before any request; not synchronised.
void set_default_ca_file(std::string path);
const std::string& default_ca_file();

}  // namespace imaging::http
