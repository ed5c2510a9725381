#include "tls_files.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>

#include "base/atomic_file.h"

namespace provisioner::server {

namespace fs = std::filesystem;

namespace {

constexpr long kCaDays = 3650;
constexpr long kServerDays = 825;
constexpr long kRenewDays = 30;

template <auto F>
struct Free {
    template <class T>
    void operator()(T* p) const { F(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Free<X509_free>>;
using Bio = std::unique_ptr<BIO, Free<BIO_free>>;
using Names = std::unique_ptr<GENERAL_NAMES, Free<GENERAL_NAMES_free>>;

Status tls_error(const std::string& what) {
    return Status::error(Code::storage, what);
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    return n > 0 ? std::string(data, std::size_t(n)) : std::string();
}

Result<std::string> read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::error(Code::not_found, "cannot read " + path.string());
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Pkey read_key(const fs::path& path) {
    auto text = read_text(path);
    if (!text) return nullptr;
    Bio in(BIO_new_mem_buf(text->data(), int(text->size())));
    return Pkey(in ? PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr) : nullptr);
}

Cert read_cert(const fs::path& path) {
    auto text = read_text(path);
    if (!text) return nullptr;
    Bio in(BIO_new_mem_buf(text->data(), int(text->size())));
    return Cert(in ? PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr) : nullptr);
}

Status write_key(const fs::path& path, EVP_PKEY* key) {
    Bio out(BIO_new(BIO_s_mem()));
    if (!out || PEM_write_bio_PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return tls_error("cannot encode the key for " + path.string());
    return base::write_private_file(path, bio_text(out.get()));
}

Status write_cert(const fs::path& path, X509* cert) {
    Bio out(BIO_new(BIO_s_mem()));
    if (!out || PEM_write_bio_X509(out.get(), cert) != 1)
        return tls_error("cannot encode the certificate for " + path.string());
    return base::write_file_atomically(path, bio_text(out.get()), fs::perms(0644));
}

Pkey new_key() { return Pkey(EVP_EC_gen("P-256")); }

bool is_address(const std::string& name) {
    unsigned char buf[16];
    return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

bool add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext) return false;
    const bool ok = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

// An unsigned certificate for key, named cn, valid from now for days, issued by issuer (null:
// self-issued); the caller adds extensions and signs it.
Cert make_cert(EVP_PKEY* key, const std::string& cn, long days, X509* issuer) {
    Cert cert(X509_new());
    if (!cert) return nullptr;
    X509_set_version(cert.get(), 2);
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1) return nullptr;
    serial[0] &= 0x7f;  // positive
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()))) {
        BN_free(bn);
        return nullptr;
    }
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // a little clock skew
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 86400);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>("provisioner"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509* signer = issuer ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
    return cert;
}

Result<bool> ensure_ca(const TlsFiles& files, Pkey& key, Cert& cert) {
    std::error_code ec;
    bool created = false;
    if (fs::exists(files.ca_key, ec)) {
        if (::chmod(files.ca_key.c_str(), 0600) != 0)
            return tls_error("cannot chmod 0600 " + files.ca_key.string());
        key = read_key(files.ca_key);
        if (!key) return tls_error(files.ca_key.string() + " is not a private key in PEM");
    } else {
        key = new_key();
        if (!key) return tls_error("cannot generate the CA key");
        if (Status s = write_key(files.ca_key, key.get()); !s) return s;
        created = true;
    }
    cert = read_cert(files.ca_cert);
    if (cert && X509_check_private_key(cert.get(), key.get()) == 1 &&
        X509_cmp_current_time(X509_get0_notAfter(cert.get())) > 0)
        return created;
    // Missing, another key's, or expired: a new self-signed certificate for the same key.
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    cert = make_cert(key.get(), std::string("provisioner CA ") + host, kCaDays, nullptr);
    if (!cert || !add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
        !add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
        !add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash") ||
        X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
        return tls_error("cannot make the CA certificate");
    if (Status s = write_cert(files.ca_cert, cert.get()); !s) return s;
    return true;
}

std::vector<std::string> san_names(X509* cert) {
    std::vector<std::string> out;
    Names names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    if (!names) return out;
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
        if (n->type == GEN_DNS) {
            const ASN1_STRING* s = n->d.dNSName;
            out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                             std::size_t(ASN1_STRING_length(s)));
        } else if (n->type == GEN_IPADD) {
            const ASN1_OCTET_STRING* s = n->d.iPAddress;
            char text[INET6_ADDRSTRLEN] = "";
            int family = ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6;
            if (inet_ntop(family, ASN1_STRING_get0_data(s), text, sizeof text)) out.push_back(text);
        }
    }
    return out;
}

bool covers(X509* cert, const std::string& name) {
    if (is_address(name)) return X509_check_ip_asc(cert, name.c_str(), 0) == 1;
    return X509_check_host(cert, name.c_str(), name.size(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
                           nullptr) == 1;
}

bool needs_new_server_cert(X509* cert, EVP_PKEY* key, EVP_PKEY* ca_key,
                           const std::vector<std::string>& names) {
    if (!cert || !key || X509_check_private_key(cert, key) != 1) return true;
    if (X509_verify(cert, ca_key) != 1) return true;
    time_t soon = time(nullptr) + kRenewDays * 86400;
    if (X509_cmp_time(X509_get0_notAfter(cert), &soon) <= 0) return true;
    return !std::all_of(names.begin(), names.end(),
                        [&](const std::string& n) { return covers(cert, n); });
}

}  // namespace

TlsFiles TlsFiles::in(const fs::path& state_dir) {
    return {state_dir / "ca.key", state_dir / "ca.crt", state_dir / "server.key",
            state_dir / "server.crt"};
}

std::vector<std::string> local_certificate_names() {
    std::set<std::string> seen;
    std::vector<std::string> out;
    auto add = [&](const std::string& n) {
        if (!n.empty() && seen.insert(n).second) out.push_back(n);
    };
    add("localhost");
    add("127.0.0.1");
    add("::1");
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) == 0) add(host);
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) == 0) {
        for (ifaddrs* a = list; a; a = a->ifa_next) {
            if (!a->ifa_addr) continue;
            char text[INET6_ADDRSTRLEN] = "";
            if (a->ifa_addr->sa_family == AF_INET) {
                inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text,
                          sizeof text);
            } else if (a->ifa_addr->sa_family == AF_INET6) {
                auto* in6 = reinterpret_cast<sockaddr_in6*>(a->ifa_addr);
                if (IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) continue;  // needs a scope; unusable in a URL
                inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
            }
            add(text);
        }
        freeifaddrs(list);
    }
    return out;
}

Result<TlsReport> ensure_tls_certificates(const TlsFiles& files,
                                          const std::vector<std::string>& names) {
    TlsReport report;
    Pkey ca_key;
    Cert ca_cert;
    auto ca = ensure_ca(files, ca_key, ca_cert);
    if (!ca) return ca.status();
    report.created_ca = *ca;

    std::error_code ec;
    if (fs::exists(files.server_key, ec) && ::chmod(files.server_key.c_str(), 0600) != 0)
        return tls_error("cannot chmod 0600 " + files.server_key.string());
    Pkey key = read_key(files.server_key);
    Cert cert = read_cert(files.server_cert);
    if (!needs_new_server_cert(cert.get(), key.get(), ca_key.get(), names)) {
        report.names = san_names(cert.get());
        return report;
    }
    std::vector<std::string> all;
    std::set<std::string> seen;
    for (const auto& n : names)
        if (!n.empty() && seen.insert(n).second) all.push_back(n);
    if (cert)
        for (const auto& n : san_names(cert.get()))
            if (seen.insert(n).second) all.push_back(n);
    if (all.empty()) all.push_back("localhost");
    std::string san;
    for (const auto& n : all) san += (san.empty() ? "" : ",") + std::string(is_address(n) ? "IP:" : "DNS:") + n;

    // A new key each time: an old one might be why the certificate did not match.
    key = new_key();
    if (!key) return tls_error("cannot generate the server key");
    cert = make_cert(key.get(), all.front(), kServerDays, ca_cert.get());
    if (!cert ||
        !add_extension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
        !add_extension(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature") ||
        !add_extension(cert.get(), ca_cert.get(), NID_ext_key_usage, "serverAuth") ||
        !add_extension(cert.get(), ca_cert.get(), NID_subject_key_identifier, "hash") ||
        !add_extension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid") ||
        !add_extension(cert.get(), ca_cert.get(), NID_subject_alt_name, san) ||
        X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0)
        return tls_error("cannot make the server certificate");
    // The key first: a crash before the certificate leaves a pair that does not match, which
    // the next start issues again.
    if (Status s = write_key(files.server_key, key.get()); !s) return s;
    if (Status s = write_cert(files.server_cert, cert.get()); !s) return s;
    report.issued_server = true;
    report.names = std::move(all);
    return report;
}

Result<CertificateInfo> read_certificate_info(const fs::path& file) {
    Cert cert = read_cert(file);
    if (!cert) return Status::error(Code::not_found, file.string() + " is not a PEM certificate");
    CertificateInfo info;
    info.names = san_names(cert.get());
    auto to_time = [](const ASN1_TIME* t) {
        struct tm parts {};
        ASN1_TIME_to_tm(t, &parts);
        return std::chrono::system_clock::from_time_t(timegm(&parts));
    };
    info.not_before = to_time(X509_get0_notBefore(cert.get()));
    info.not_after = to_time(X509_get0_notAfter(cert.get()));
    info.is_ca = X509_check_ca(cert.get()) != 0;
    return info;
}

}  // namespace provisioner::server
