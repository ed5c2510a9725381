// The TLS context both clients start from (http_request and KeptClient): TLS 1.2 or later, the
// server's certificate verified against ca_file ("": the system's default paths). Internal to
// imaging/http.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <optional>
#include <string>

namespace imaging::http {

// nullopt, with error naming the CA file, when it cannot be loaded. url is what the error
// names the request by.
inline std::optional<boost::asio::ssl::context> client_tls_context(const std::string& url,
                                                                   const std::string& ca_file,
                                                                   std::string& error) {
    namespace ssl = boost::asio::ssl;
    std::optional<ssl::context> context(std::in_place, ssl::context::tls_client);
    boost::system::error_code ec;
    context->set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (ca_file.empty())
        context->set_default_verify_paths(ec);
    else
        context->load_verify_file(ca_file, ec);
    if (ec) {
        error = url + ": cannot load the CA file " +
                (ca_file.empty() ? std::string("(system default)") : ca_file) + ": " + ec.message();
        return std::nullopt;
    }
    context->set_verify_mode(ssl::verify_peer);
    return context;
}

}  // namespace imaging::http
