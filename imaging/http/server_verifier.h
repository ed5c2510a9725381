// The client's check of an https:// server, shared by http_request and KeptClient: what
// OpenSSL checked (the chain), then the server's name or address, keeping the reason of the
// first failure for the error message. Internal to imaging/http.
#pragma once

#include <string>

#include <openssl/x509_vfy.h>

#include <boost/asio/ssl.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>

namespace imaging::http {

struct ServerVerifier {
    std::string host;
    std::string* reason;  // must outlive the handshake
    bool operator()(bool preverified, boost::asio::ssl::verify_context& ctx) const {
        X509_STORE_CTX* store = ctx.native_handle();
        if (!preverified) {
            if (reason->empty())
                *reason = X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
            return false;
        }
        if (!boost::asio::ssl::host_name_verification(host)(preverified, ctx)) {
            if (reason->empty()) *reason = "the certificate is not for " + host;
            return false;
        }
        return true;
    }
};

}  // namespace imaging::http
