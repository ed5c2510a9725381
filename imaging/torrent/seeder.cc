#include "imaging/torrent/seeder.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <vector>

#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/error_code.hpp>
#include <libtorrent/peer_info.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_status.hpp>

#include "imaging/torrent/image_torrent.h"
#include "imaging/torrent/memory_disk_io.h"
#include "imaging/torrent/memory_pack.h"
#include "imaging/torrent/offering.h"
#include "imaging/torrent/ssl_peers.h"
#include "imaging/torrent/swarm_coverage.h"

namespace imaging::torrent {
namespace {

using Clock = std::chrono::steady_clock;

// One look at the connected peers' have-bitfields. Connections to finished hosts are kept
// open (close_redundant_connections off, lan_settings.cc), so a host that completed is seen
// here as a seed; one that closed anyway is caught by its disconnect reason below.
void poll_coverage(const lt::torrent_handle& h, SwarmCoverage& coverage, std::set<lt::peer_id>& seen) {
    std::vector<lt::peer_info> peers;
    h.get_peer_info(peers);
    coverage.begin_poll();
    for (const auto& peer : peers) {
        if (peer.flags & lt::peer_info::handshake) continue;
        seen.insert(peer.pid);
        coverage.add_peer(peer.pieces, static_cast<bool>(peer.flags & lt::peer_info::seed));
    }
}

}  // namespace

Result<SeedReport> run_seed(const SeedOptions& o) {
    auto log = [&](const std::string& line) { if (o.log) o.log(line); };
    auto torrent = load_image_torrent_unverified(o.torrent);
    if (!torrent) return torrent.status();
    auto on_disk = load_manifest_unverified(o.image_dir);
    if (!on_disk) return on_disk.status();
    if (on_disk->to_json() != torrent->manifest.to_json()) {
        return Status::error("the torrent is not of the image in " + o.image_dir.string() +
                             " (their manifests differ)");
    }

    auto credentials = peer_credentials_for(*torrent, o.peer_pem);
    if (!credentials) return credentials.status();

    auto start = Clock::now();
    SessionOptions session_options = o.session;
    if (o.super_seed) session_options.fingerprint = kOfferingSeedFingerprint;
    session_options.ssl = credentials->has_value();
    // Pieces checked and served from a read-only mapping of the pack (memory_pack.h): no read
    // into a buffer of its own per block. A pack that cannot be mapped is read from its file.
    auto mapped = MemoryPack::map_file(o.image_dir / kPackFile);
    if (mapped) session_options.disk_io = memory_disk_io(*mapped);
    auto session = make_lan_session(session_options);
    lt::add_torrent_params p;
    p.ti = torrent->info;
    p.save_path = o.image_dir.string();
    if (o.super_seed) {
        // Offering (offering.h), not libtorrent's super_seeding flag: about 8 MiB on offer to
        // each host at a time.
        const int pieces = torrent->info->num_pieces();
        const int in_flight = std::max(2, (8 << 20) / torrent->info->piece_length());
        p.extensions.push_back([pieces, in_flight](const lt::torrent_handle&, lt::client_data_t) {
            return offering_seed_plugin(pieces, in_flight);
        });
    }
    auto added = add_swarm_torrent(*session, std::move(p), *credentials);
    if (!added) return added.status();
    lt::torrent_handle h = *added;

    const int num_pieces = torrent->info->num_pieces();
    bool checked = false;
    SeedReport report;
    std::set<lt::peer_id> seen;
    SwarmCoverage coverage(num_pieces);
    auto next_poll = Clock::now();
    Status failure;
    while (failure.is_ok() && report.reason.empty()) {
        session->wait_for_alert(std::chrono::milliseconds(200));
        std::vector<lt::alert*> alerts;
        session->pop_alerts(&alerts);
        for (lt::alert* a : alerts) {
            if (auto* lf = lt::alert_cast<lt::listen_failed_alert>(a)) {
                failure = Status::error("listen on " + o.session.listen + ": " + lf->message());
            } else if (auto* te = lt::alert_cast<lt::torrent_error_alert>(a)) {
                failure = Status::error("torrent: " + te->message());
            } else if (auto* fe = lt::alert_cast<lt::file_error_alert>(a)) {
                failure = Status::error("pack file: " + fe->message());
            } else if (lt::alert_cast<lt::torrent_checked_alert>(a)) {
                auto st = h.status();
                if (!st.is_seeding) {
                    failure = Status::error((o.image_dir / kPackFile).string() +
                                            " does not match the torrent (" +
                                            std::to_string(st.num_pieces) + " of " +
                                            std::to_string(num_pieces) + " pieces pass)");
                } else {
                    checked = true;
                    log("seeding " + torrent->manifest.name + " " + torrent->manifest.version +
                        " (" + torrent->info_hash_hex() + ", " + std::to_string(num_pieces) +
                        " pieces) on " + o.session.listen +
                        (session_options.ssl ? " (TLS, certified peers only)" : ""));
                }
            } else if (auto* pd = lt::alert_cast<lt::peer_disconnected_alert>(a)) {
                // Both ends complete: the host has the whole image and stays in the swarm.
                if (pd->error == lt::errors::upload_upload_connection) coverage.complete_copy_seen();
            } else if (auto* tr = lt::alert_cast<lt::tracker_error_alert>(a)) {
                log("tracker: " + tr->message());
            }
        }
        if (o.should_stop && o.should_stop()) report.reason = "stopped";
        if (checked && Clock::now() >= next_poll) {
            next_poll = Clock::now() + std::chrono::milliseconds(250);
            poll_coverage(h, coverage, seen);
        }
        if (checked && o.leave_when_distributed && report.reason.empty()) {
            if (coverage.complete()) {
                report.reason = "distributed";
                log("every piece is in the swarm; the seed leaves");
            }
        }
    }
    if (!failure) return failure;
    h.pause();  // disconnects every peer now; the session's teardown may take a while
    auto st = h.status();
    report.bytes_uploaded = static_cast<std::uint64_t>(st.total_payload_upload);
    report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    report.stopped_unix_time =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    report.peers_seen = static_cast<int>(seen.size());
    session->remove_torrent(h);
    return report;
}

}  // namespace imaging::torrent
