#include "imaging/torrent/tracker_http.h"

#include <charconv>

namespace imaging::torrent {
namespace {

void put_string(std::string& out, std::string_view s) {
    out += std::to_string(s.size());
    out += ':';
    out += s;
}

void put_int(std::string& out, std::int64_t v) {
    out += 'i';
    out += std::to_string(v);
    out += 'e';
}

template <class T>
bool parse_number(const std::string& s, T& out) {
    auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), out);
    return err == std::errc() && end == s.data() + s.size();
}

}  // namespace

Result<AnnounceRequest> parse_announce(const http::QueryParams& q,
                                       const boost::asio::ip::address& remote) {
    AnnounceRequest req;
    auto info_hash = http::query_value(q, "info_hash");
    if (!info_hash || info_hash->size() != 20) {
        return Status::error("info_hash missing or not 20 bytes");
    }
    req.info_hash = *info_hash;
    req.peer_id = http::query_value(q, "peer_id").value_or("");
    if (req.peer_id.size() != 20) return Status::error("peer_id missing or not 20 bytes");
    auto port = http::query_value(q, "port");
    if (!port || !parse_number(*port, req.port) || req.port == 0) {
        return Status::error("port missing or invalid");
    }
    if (auto left = http::query_value(q, "left"); left && !parse_number(*left, req.left)) {
        return Status::error("left is not a number");
    }
    req.event = http::query_value(q, "event").value_or("");
    if (!req.event.empty() && req.event != "started" && req.event != "completed" &&
        req.event != "stopped" && req.event != "paused") {
        return Status::error("unknown event '" + req.event + "'");
    }
    if (auto numwant = http::query_value(q, "numwant");
        numwant && !parse_number(*numwant, req.numwant)) {
        return Status::error("numwant is not a number");
    }
    req.ip = normalize(remote);
    return req;
}

std::string bencode_reply(const AnnounceReply& reply) {
    std::string out = "d";
    if (!reply.failure.empty()) {
        put_string(out, "failure reason");
        put_string(out, reply.failure);
        return out + "e";
    }
    std::string peers, peers6;
    for (const auto& ep : reply.peers) {
        std::string& dest = ep.address().is_v4() ? peers : peers6;
        if (ep.address().is_v4()) {
            auto b = ep.address().to_v4().to_bytes();
            dest.append(reinterpret_cast<const char*>(b.data()), b.size());
        } else {
            auto b = ep.address().to_v6().to_bytes();
            dest.append(reinterpret_cast<const char*>(b.data()), b.size());
        }
        dest.push_back(static_cast<char>(ep.port() >> 8));
        dest.push_back(static_cast<char>(ep.port() & 0xff));
    }
    // Keys in sorted order, as bencode requires.
    put_string(out, "complete");
    put_int(out, reply.complete);
    put_string(out, "incomplete");
    put_int(out, reply.incomplete);
    put_string(out, "interval");
    put_int(out, reply.interval);
    put_string(out, "min interval");
    put_int(out, reply.min_interval);
    put_string(out, "peers");
    put_string(out, peers);
    if (!peers6.empty()) {
        put_string(out, "peers6");
        put_string(out, peers6);
    }
    return out + "e";
}

void mount_tracker(http::Router& router, std::shared_ptr<Tracker> tracker) {
    router.add(http::bhttp::verb::get, "/announce",
               [tracker](const http::Request& req, const http::RequestContext& ctx) {
                   AnnounceReply reply;
                   auto query = http::parse_query(std::string_view(req.target().data(), req.target().size()));
                   if (!query) {
                       reply.failure = "malformed query string";
                   } else if (auto parsed = parse_announce(*query, ctx.remote.address()); !parsed) {
                       reply.failure = parsed.status().message();
                   } else {
                       reply = tracker->announce(*parsed);
                   }
                   // Trackers answer refusals with 200 and a "failure reason", as clients expect.
                   return http::make_response(req, http::bhttp::status::ok, bencode_reply(reply),
                                              "text/plain");
               });
}

}  // namespace imaging::torrent
