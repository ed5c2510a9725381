#include "imaging/torrent/lan_settings.h"

#include <cstring>

#include <libtorrent/alert.hpp>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/posix_disk_io.hpp>
#include <libtorrent/session_params.hpp>

#include "imaging/torrent/ssl_peers.h"

namespace imaging::torrent {

bool has_fingerprint(const lt::peer_id& pid, const char* fingerprint) {
    return std::memcmp(pid.data(), fingerprint, std::strlen(fingerprint)) == 0;
}

lt::settings_pack lan_settings(const SessionOptions& o) {
    lt::settings_pack s;
    s.set_bool(lt::settings_pack::enable_dht, false);
    s.set_bool(lt::settings_pack::enable_lsd, false);
    s.set_bool(lt::settings_pack::enable_upnp, false);
    s.set_bool(lt::settings_pack::enable_natpmp, false);
    s.set_bool(lt::settings_pack::enable_ip_notifier, false);
    s.set_bool(lt::settings_pack::enable_outgoing_utp, false);
    s.set_bool(lt::settings_pack::enable_incoming_utp, false);
    s.set_bool(lt::settings_pack::allow_multiple_connections_per_ip, true);
    // The seed learns what the swarm holds from its peers' HAVEs (swarm_coverage.h): hosts
    // send them to the seed too, and keep their connection to it once they are complete
    // (a rack has few peers; an idle connection costs nothing).
    s.set_bool(lt::settings_pack::send_redundant_have, true);
    s.set_bool(lt::settings_pack::close_redundant_connections, false);
    s.set_str(lt::settings_pack::listen_interfaces, listen_interfaces(o.listen, o.ssl));
    s.set_str(lt::settings_pack::peer_fingerprint, o.fingerprint);
    s.set_str(lt::settings_pack::user_agent, "imaging/0.1 libtorrent/" LIBTORRENT_VERSION);
    s.set_int(lt::settings_pack::unchoke_slots_limit, o.upload_slots);
    s.set_int(lt::settings_pack::connections_limit, 400);
    s.set_int(lt::settings_pack::max_retry_port_bind, 0);
    s.set_int(lt::settings_pack::min_announce_interval, 5);
    s.set_int(lt::settings_pack::min_reconnect_time, 1);
    s.set_int(lt::settings_pack::peer_connect_timeout, 5);
    s.set_int(lt::settings_pack::unchoke_interval, 5);
    s.set_int(lt::settings_pack::optimistic_unchoke_interval, 10);
    s.set_int(lt::settings_pack::max_out_request_queue, 1500);
    s.set_int(lt::settings_pack::stop_tracker_timeout, 2);
    s.set_int(lt::settings_pack::tracker_completion_timeout, 10);
    s.set_int(lt::settings_pack::active_downloads, -1);
    s.set_int(lt::settings_pack::active_seeds, -1);
    s.set_int(lt::settings_pack::active_limit, -1);
    s.set_int(lt::settings_pack::alert_queue_size, 1 << 20);
    s.set_int(lt::settings_pack::upload_rate_limit, o.upload_rate_limit);
    s.set_int(lt::settings_pack::download_rate_limit, o.download_rate_limit);
    s.set_int(lt::settings_pack::alert_mask,
              static_cast<int>(static_cast<std::uint32_t>(
                  lt::alert_category::error | lt::alert_category::status |
                  lt::alert_category::storage | lt::alert_category::piece_progress |
                  // Not block_progress nor upload: two alerts per 16 KiB block, each a wake-up
                  // of the alert loop, for nothing read (block_counts.h counts blocks).
                  lt::alert_category::peer | lt::alert_category::tracker |
                  // peer_disconnected_alert: the seed counts a host that leaves complete
                  // (seeder.cc), a receiver names a failed TLS handshake (receiver.cc).
                  lt::alert_category::connect)));
    return s;
}

std::unique_ptr<lt::session> make_lan_session(const SessionOptions& o) {
    lt::session_params params(lan_settings(o));
    // pread/pwrite storage rather than the default mmap: a piece is on disk when its
    // piece_finished_alert arrives, where the chunk writer preads it, and an image-sized
    // mapping does not compete with the target's page cache.
    params.disk_io_constructor = o.disk_io ? o.disk_io : lt::posix_disk_io_constructor;
    auto session = std::make_unique<lt::session>(std::move(params));
    lt::ip_filter every_peer;
    auto global = std::uint32_t{1} << static_cast<std::uint32_t>(lt::session::global_peer_class_id);
    every_peer.add_rule(lt::address_v4::any(), lt::address_v4::broadcast(), global);
    every_peer.add_rule(lt::address_v6::any(),
                        lt::make_address_v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), global);
    session->set_peer_class_filter(every_peer);
    return session;
}

}  // namespace imaging::torrent
