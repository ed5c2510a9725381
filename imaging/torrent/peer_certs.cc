#include "imaging/torrent/peer_certs.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include "base/atomic_file.h"
#include "imaging/http/x509.h"
#include "imaging/manifest.h"

namespace imaging::torrent {
namespace {

using http::x509::Bio;
using http::x509::Cert;
using http::x509::Free;
using http::x509::Pkey;
using http::x509::add_extension;
using http::x509::bio_text;
using http::x509::read_cert;
using http::x509::read_key;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Free<EVP_PKEY_CTX_free>>;
using Store = std::unique_ptr<X509_STORE, Free<X509_STORE_free>>;
using StoreCtx = std::unique_ptr<X509_STORE_CTX, Free<X509_STORE_CTX_free>>;

Result<PeerCredentials> encode(X509* cert, EVP_PKEY* key) {
    auto cert_text = http::x509::cert_pem(cert);
    auto key_text = http::x509::key_pem(key);
    if (!cert_text || !key_text) return Status::error("cannot encode a swarm certificate in PEM");
    return PeerCredentials{std::move(*cert_text), std::move(*key_text)};
}

// An unsigned certificate for key named cn, issued by issuer (null: by itself).
Cert new_cert(EVP_PKEY* key, std::string_view cn, X509* issuer) {
    return http::x509::new_cert(key, cn, kValidDays, issuer);
}

}  // namespace

Result<PeerCredentials> make_swarm_ca(std::string_view name) {
    Pkey key = http::x509::new_key();
    if (!key) return Status::error("cannot generate a swarm CA key");
    Cert cert = new_cert(key.get(), "provisioner swarm " + std::string(name), nullptr);
    if (!cert ||
        !add_extension(cert.get(), cert.get(), NID_basic_constraints,
                       "critical,CA:TRUE,pathlen:0") ||
        !add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign") ||
        !add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash") ||
        X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
        return Status::error("cannot make the swarm CA certificate");
    return encode(cert.get(), key.get());
}

Result<PeerCredentials> issue_peer_cert(const PeerCredentials& ca, std::string_view peer_name) {
    Cert ca_cert = read_cert(ca.cert_pem);
    Pkey ca_key = read_key(ca.key_pem);
    if (!ca_cert || !ca_key) return Status::error("the swarm CA is not a PEM certificate and key");
    Pkey key = http::x509::new_key();
    if (!key) return Status::error("cannot generate a peer key");
    Cert cert = new_cert(key.get(), peer_name, ca_cert.get());
    if (!cert ||
        !add_extension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
        !add_extension(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature") ||
        !add_extension(cert.get(), ca_cert.get(), NID_ext_key_usage, "serverAuth,clientAuth") ||
        !add_extension(cert.get(), ca_cert.get(), NID_subject_alt_name,
                       std::string("DNS:") + kPackFile) ||
        X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0)
        return Status::error("cannot sign a peer certificate for " + std::string(peer_name));
    return encode(cert.get(), key.get());
}

Result<PeerCredentials> parse_peer_credentials(std::string_view pem, std::string_view ca_cert_pem) {
    Cert cert = read_cert(pem);
    if (!cert) return Status::error("no PEM certificate in the peer credentials");
    Pkey key = read_key(pem);
    if (!key) return Status::error("no PEM private key in the peer credentials");
    if (X509_check_private_key(cert.get(), key.get()) != 1)
        return Status::error("the peer credentials' key is not their certificate's");
    if (!ca_cert_pem.empty()) {
        Cert ca = read_cert(ca_cert_pem);
        if (!ca) return Status::error("the torrent's CA certificate does not read as PEM");
        Store store(X509_STORE_new());
        StoreCtx ctx(X509_STORE_CTX_new());
        if (!store || !ctx || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
            X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1)
            return Status::error("cannot check the peer certificate");
        if (X509_verify_cert(ctx.get()) != 1)
            return Status::error(
                std::string(
                    "the peer certificate is not one of this swarm's (its CA is the torrent's): ") +
                X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
    }
    auto out = encode(cert.get(), key.get());
    if (!out) return out.status();
    return out;
}

Result<std::string> read_peer_cert_file(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return Status::error("peer certificate " + path.string() + ": " + std::strerror(errno));
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        return Status::error("peer certificate " + path.string() +
                             " is open to group or others, and holds a private key (chmod 600 it)");
    if (st.st_size > (64 << 10))
        return Status::error("peer certificate " + path.string() + " is over 64 KiB");
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return Status::error("reading " + path.string() + ": " + std::strerror(errno));
    return text;
}

Status write_peer_cert_file(const std::filesystem::path& path, const PeerCredentials& credentials) {
    return base::write_private_file(path, credentials.pem());
}

bool is_certificate(std::string_view pem) {
    return read_cert(pem) != nullptr;
}

std::string certificate_name(std::string_view cert_pem) {
    Cert cert = read_cert(cert_pem);
    if (!cert) return "";
    X509_NAME* name = X509_get_subject_name(cert.get());
    int at = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (at < 0) return "";
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<std::size_t>(ASN1_STRING_length(s)));
}

const std::string& dh_params_pem() {
    static const std::string pem = [] {
        PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
        if (!ctx || EVP_PKEY_paramgen_init(ctx.get()) <= 0) return std::string();
        char group[] = "ffdhe2048";
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
            OSSL_PARAM_construct_end()};
        EVP_PKEY* raw = nullptr;
        if (EVP_PKEY_CTX_set_params(ctx.get(), params) <= 0 ||
            EVP_PKEY_paramgen(ctx.get(), &raw) <= 0)
            return std::string();
        Pkey dh(raw);
        Bio out(BIO_new(BIO_s_mem()));
        if (!out || PEM_write_bio_Parameters(out.get(), dh.get()) != 1) return std::string();
        return bio_text(out.get());
    }();
    return pem;
}

}  // namespace imaging::torrent
