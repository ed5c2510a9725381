// provisionerd's own TLS certificate authority: what `provisionerd init` (and every start)
// makes in the state directory so that the API speaks HTTPS with no operator step.
//
//   STATE/ca.key      the CA's private key (ECDSA P-256, 0600); never leaves the server
//   STATE/ca.crt      the CA's certificate (0644, 10 years): what the CLI (--ca) and the agents
//                     (the netboot initramfs, images/build-netboot --ca) verify the server by
//   STATE/server.key  the server's key (0600)
//   STATE/server.crt  the server's certificate, signed by the CA (825 days), with every name
//                     and address hosts and operators reach it by as subjectAltName
//
// An operator's own certificate (provisionerd --tls-cert/--tls-key) replaces server.* and
// leaves the CA unused.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "provisioner/status.h"

namespace provisioner::server {

struct TlsFiles {
    std::filesystem::path ca_key, ca_cert, server_key, server_cert;
    static TlsFiles in(const std::filesystem::path& state_dir);
};

struct TlsReport {
    bool created_ca = false;
    bool issued_server = false;  // a new server certificate (missing, expiring, names added)
    std::vector<std::string> names;  // the subjectAltNames of the server certificate
};

// Creates what is missing, atomically and with its mode: the CA (key first), then a server
// certificate. A server certificate is issued again, signed by the same CA, when it is missing,
// does not match its key, was not signed by this CA, expires within 30 days, or does not cover
// every entry of names (DNS names and IPv4/IPv6 addresses; the new one covers names and the
// old one's). Keys are tightened to 0600. storage naming the file on failure.
Result<TlsReport> ensure_tls_certificates(const TlsFiles& files,
                                          const std::vector<std::string>& names);

// localhost, 127.0.0.1, ::1, this machine's host name and every address of its interfaces.
std::vector<std::string> local_certificate_names();

// The subjectAltNames of the PEM certificate in file (DNS names and addresses, as text), and
// its notAfter; for `init`'s report and the tests.
struct CertificateInfo {
    std::vector<std::string> names;
    std::chrono::system_clock::time_point not_before, not_after;
    bool is_ca = false;
};
Result<CertificateInfo> read_certificate_info(const std::filesystem::path& file);

}  // namespace provisioner::server
