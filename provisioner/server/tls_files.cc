#include "tls_files.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>

#include "base/atomic_file.h"
#include "imaging/http/x509.h"
#include "text_file.h"

namespace provisioner::server {

namespace fs = std::filesystem;

namespace {

constexpr long kCaDays = 3650;
constexpr long kServerDays = 825;
constexpr long kRenewDays = 30;

using imaging::http::x509::Cert;
using imaging::http::x509::Free;
using imaging::http::x509::Pkey;
using imaging::http::x509::add_extension;
using imaging::http::x509::new_key;
using Names = std::unique_ptr<GENERAL_NAMES, Free<GENERAL_NAMES_free>>;

Status tls_error(const std::string& what) {
    return Status::error(Code::storage, what);
}

Pkey read_key(const fs::path& path) {
    auto text = read_text_file(path);
    return text ? imaging::http::x509::read_key(*text) : nullptr;
}

Cert read_cert(const fs::path& path) {
    auto text = read_text_file(path);
    return text ? imaging::http::x509::read_cert(*text) : nullptr;
}

Status write_key(const fs::path& path, EVP_PKEY* key) {
    auto text = imaging::http::x509::key_pem(key);
    if (!text) return tls_error("cannot encode the key for " + path.string());
    return base::write_private_file(path, *text);
}

Status write_cert(const fs::path& path, X509* cert) {
    auto text = imaging::http::x509::cert_pem(cert);
    if (!text) return tls_error("cannot encode the certificate for " + path.string());
    return base::write_file_atomically(path, *text, fs::perms(0644));
}

bool is_address(const std::string& name) {
    unsigned char buf[16];
    return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

// An unsigned certificate for key, named cn, valid from now for days, issued by issuer (null:
// self-issued); the caller adds extensions and signs it.
Cert make_cert(EVP_PKEY* key, const std::string& cn, long days, X509* issuer) {
    return imaging::http::x509::new_cert(key, cn, days, issuer);
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
