#include "imaging/torrent/ssl_peers.h"

namespace imaging::torrent {

Result<std::optional<PeerCredentials>> peer_credentials_for(const ImageTorrent& torrent,
                                                            std::string_view peer_pem) {
    if (torrent.ca_cert_pem.empty()) {
        if (!peer_pem.empty())
            return Status::error(
                "the torrent has no CA (an open swarm): a peer certificate is meaningless here");
        return std::optional<PeerCredentials>();
    }
    if (peer_pem.empty())
        return Status::error(
            "the torrent admits only peers with a certificate signed by its CA: give this peer's "
            "certificate and key (--peer-cert)");
    auto parsed = parse_peer_credentials(peer_pem, torrent.ca_cert_pem);
    if (!parsed) return parsed.status();
    return std::optional<PeerCredentials>(std::move(*parsed));
}

std::string listen_interfaces(const std::string& listen, bool ssl) {
    return ssl ? listen + "s" : listen;
}

Result<lt::torrent_handle> add_swarm_torrent(lt::session& session, lt::add_torrent_params params,
                                             const std::optional<PeerCredentials>& credentials) {
    params.flags &= ~lt::torrent_flags::auto_managed;
    if (credentials)
        params.flags |= lt::torrent_flags::paused;
    else
        params.flags &= ~lt::torrent_flags::paused;
    lt::error_code ec;
    lt::torrent_handle h = session.add_torrent(std::move(params), ec);
    if (ec) return Status::error("adding the torrent: " + ec.message());
    if (credentials) {
        // Handled in order on libtorrent's thread, after the torrent's SSL context exists (made
        // while it was added): the certificate is in place before resume lets it connect.
        h.set_ssl_certificate_buffer(credentials->cert_pem, credentials->key_pem, dh_params_pem());
        h.resume();
    }
    return h;
}

}  // namespace imaging::torrent
