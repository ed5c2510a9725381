// An image torrent's swarm with or without peer authentication (peer_certs.h): the check that
// a peer's credentials fit the torrent, and adding the torrent to a session so that it never
// opens a connection before it holds them.
#pragma once

#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "imaging/status.h"
#include "imaging/torrent/image_torrent.h"
#include "imaging/torrent/peer_certs.h"

namespace imaging::torrent {

// peer_pem holds this peer's certificate and key (PEM), or is empty. A torrent with a CA
// needs them, signed by that CA; an open torrent takes none (a certificate would suggest a
// protection it does not have). The error says which.
Result<std::optional<PeerCredentials>> peer_credentials_for(const ImageTorrent& torrent,
                                                            std::string_view peer_pem);

// "ADDR:PORT" as libtorrent's listen_interfaces for this torrent: "ADDR:PORTs" (the SSL
// listen socket, the only one an SSL torrent announces and accepts peers on) when ssl.
std::string listen_interfaces(const std::string& listen, bool ssl);

// Adds params (not paused) to the session; with credentials, it is added paused, given them
// and only then resumed.
Result<lt::torrent_handle> add_swarm_torrent(lt::session& session, lt::add_torrent_params params,
                                             const std::optional<PeerCredentials>& credentials);

}  // namespace imaging::torrent
