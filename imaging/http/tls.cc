#include "imaging/http/tls.h"

namespace imaging::http {

namespace ssl = boost::asio::ssl;

Result<std::shared_ptr<ssl::context>> make_server_tls_context(const std::string& cert_file,
                                                              const std::string& key_file) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    boost::system::error_code ec;
    if (context->use_certificate_chain_file(cert_file, ec); ec)
        return Status::error("cannot load the TLS certificate " + cert_file + ": " + ec.message());
    if (context->use_private_key_file(key_file, ssl::context::pem, ec); ec)
        return Status::error("cannot load the TLS key " + key_file + " (or it is not the key of " +
                             cert_file + "): " + ec.message());
    return context;
}

bool TlsOptions::plain_allowed(std::string_view path) const {
    for (const auto& prefix : plain_http_prefixes)
        if (path.starts_with(prefix)) return true;
    return false;
}

}  // namespace imaging::http
