// Small owners and builders over OpenSSL's X.509 API, shared by the two places that issue
// certificates: provisionerd's own CA and server certificate (provisioner/server/tls_files.cc)
// and a BitTorrent swarm's CA and peer certificates (imaging/torrent/peer_certs.cc).
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace imaging::http::x509 {

template <auto F>
struct Free {
    template <class T>
    void operator()(T* p) const {
        F(p);
    }
};
using Pkey = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Free<X509_free>>;
using Bio = std::unique_ptr<BIO, Free<BIO_free>>;

// What a memory BIO holds, as text.
std::string bio_text(BIO* bio);

// The first certificate or private key in PEM text; null when there is none.
Cert read_cert(std::string_view pem);
Pkey read_key(std::string_view pem);

// PEM text of a certificate or a private key (unencrypted); nullopt if OpenSSL fails.
std::optional<std::string> cert_pem(X509* cert);
std::optional<std::string> key_pem(EVP_PKEY* key);

// A fresh P-256 key; null if OpenSSL fails.
Pkey new_key();

// An unsigned version-3 certificate for key, subject O=provisioner,CN=cn, with a random
// positive 128-bit serial, valid from an hour ago (clock skew) for days, issued by issuer
// (null: by itself). The caller adds extensions and signs it. Null if OpenSSL fails.
Cert new_cert(EVP_PKEY* key, std::string_view cn, long days, X509* issuer);

// Adds an extension given in openssl.cnf's syntax ("critical,CA:TRUE", "DNS:a,IP:1.2.3.4"),
// with issuer as the context for key identifiers; false if OpenSSL refuses it.
bool add_extension(X509* cert, X509* issuer, int nid, const std::string& value);

}  // namespace imaging::http::x509
