// Who may join a swarm: libtorrent's SSL torrents. A torrent made with a CA certificate
// (TorrentOptions::ca_cert_pem) carries it in its info dictionary ("ssl-cert", so the info-hash
// covers it); its peers talk TLS on an SSL listen socket and each must present a certificate
// signed by that CA, or the TLS handshake fails before a byte of the torrent is exchanged. One
// CA per deployment: its key signs the seed's and each host's certificate when the deployment
// starts and is then thrown away, so no later certificate can be made for that swarm.
//
// Certificates are EC P-256, valid an hour before now (clock skew) to kValidDays after; a
// peer's names its host in CN and the torrent (kPackFile, the single file's name, which is what
// libtorrent matches a peer certificate's subjectAltName against) as its DNS subjectAltName.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "imaging/status.h"

namespace imaging::torrent {

inline constexpr long kValidDays = 30;

// A PEM certificate and its PEM private key. Held in memory, written out only 0600.
struct PeerCredentials {
    std::string cert_pem;
    std::string key_pem;
    // Both blocks in one PEM text (certificate first), as a --peer-cert file holds them.
    std::string pem() const { return cert_pem + key_pem; }
};

// A new self-signed CA for one swarm, named "provisioner swarm NAME".
Result<PeerCredentials> make_swarm_ca(std::string_view name);

// A certificate for peer_name signed by ca, with a new key.
Result<PeerCredentials> issue_peer_cert(const PeerCredentials& ca, std::string_view peer_name);

// Reads a PEM text holding one certificate and one private key (in any order), checks that the
// key is the certificate's and, when ca_cert_pem is not empty, that the certificate is signed
// by it and valid now. Errors say which.
Result<PeerCredentials> parse_peer_credentials(std::string_view pem, std::string_view ca_cert_pem);

// A --peer-cert file: PeerCredentials::pem(), mode 0600. Reading refuses a file open to group
// or others and one over 64 KiB; writing replaces path atomically and durably
// (base/atomic_file.h).
Result<std::string> read_peer_cert_file(const std::filesystem::path& path);
Status write_peer_cert_file(const std::filesystem::path& path, const PeerCredentials& credentials);

// Whether pem holds an X.509 certificate.
bool is_certificate(std::string_view pem);

// The certificate's CN, for log lines; "" when it has none.
std::string certificate_name(std::string_view cert_pem);

// Diffie-Hellman parameters (RFC 7919's ffdhe2048 group) in PEM, which libtorrent wants beside
// every peer certificate (TLS 1.3 uses ECDHE; they serve TLS 1.2 DHE only).
const std::string& dh_params_pem();

}  // namespace imaging::torrent
