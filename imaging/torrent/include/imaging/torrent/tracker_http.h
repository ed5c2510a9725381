// The tracker on HTTP: GET /announce parsed from the query (BEP 3), answered in bencode with
// compact peer strings (BEP 23 "peers", BEP 7 "peers6"). Mounted on an imaging::http::Router,
// so provisionerd serves it beside its API and `imaging seed` on its own small server.
#pragma once

#include <memory>
#include <string>

#include "imaging/http/query.h"
#include "imaging/http/router.h"
#include "imaging/status.h"
#include "imaging/torrent/tracker.h"

namespace imaging::torrent {

// remote is the TCP peer of the request: a peer's address is taken from the connection, never
// from the query, so a host cannot place others in the swarm.
Result<AnnounceRequest> parse_announce(const http::QueryParams& query,
                                       const boost::asio::ip::address& remote);

std::string bencode_reply(const AnnounceReply& reply);

// GET /announce on router, answered by tracker (which must outlive the router's server).
void mount_tracker(http::Router& router, std::shared_ptr<Tracker> tracker);

}  // namespace imaging::torrent
