// BitTorrent in the rack (issue 20, item 4): the owner's offers of its torrent deployments to
// rack servers, its tracker's view of racks, and a rack server's seeds of its copies.
#include <fstream>

#include "imaging/digest.h"
#include "orchestrator.h"
#include "orchestrator_parts.h"

namespace provisioner::server {

namespace {

// A rack server's seeds take the upper half of the seeds' port range (torrent_port + 0..99):
// the owner's own seeds take theirs from the bottom, so the two rarely meet on one machine.
constexpr int kRackSeedPortsFrom = 50;
constexpr int kRackSeedPorts = 50;

bool rack_torrent_target_unfinished(TargetState s) {
    return s == TargetState::pending || s == TargetState::running;
}

}  // namespace

std::map<DeploymentId, RackTorrentOffer> Orchestrator::rack_torrent_offers() {
    std::map<DeploymentId, RackTorrentOffer> out;
    std::lock_guard lock(mu_);
    for (const auto& [id, a] : active_) {
        if (a->record.transport != Transport::torrent ||
            a->record.state != DeploymentState::running || !a->torrent || !a->swarm ||
            a->info_hash.empty())
            continue;
        RackTorrentOffer offer;
        for (const auto& [_, t] : a->targets) {
            if (!rack_torrent_target_unfinished(t.state) || t.host.rack.empty() ||
                !foreign_racks_.contains(t.host.rack))
                continue;
            if (auto c = a->swarm->racks.find(t.host.rack); c != a->swarm->racks.end())
                offer.racks.emplace(c->first, c->second);
        }
        if (offer.racks.empty()) continue;
        const auto* raw = reinterpret_cast<const std::uint8_t*>(a->info_hash.data());
        offer.info_hash_hex = imaging::to_hex({raw, a->info_hash.size()});
        offer.torrent = *a->torrent;
        out.emplace(id, std::move(offer));
    }
    return out;
}

std::set<std::string> Orchestrator::torrent_racks() {
    std::set<std::string> out;
    std::lock_guard lock(mu_);
    for (const auto& [_, a] : active_)
        if (a->record.transport == Transport::torrent &&
            a->record.state == DeploymentState::running)
            for (const auto& [_, t] : a->targets)
                if (rack_torrent_target_unfinished(t.state) && !t.host.rack.empty())
                    out.insert(t.host.rack);
    return out;
}

void Orchestrator::set_tracker_racks(imaging::torrent::RackMap hosts,
                                     imaging::torrent::RackSeeds seeds) {
    std::shared_ptr<imaging::torrent::Tracker> tracker;
    {
        std::lock_guard lock(mu_);
        tracker = tracker_;
    }
    if (tracker) tracker->set_racks(std::move(hosts), std::move(seeds));
}

void Orchestrator::set_rack_torrents(const std::vector<RackTorrent>& seeds) {
    std::vector<const RackTorrent*> missing;
    std::vector<std::filesystem::path> unused_files;  // removed after the lock
    {
        std::lock_guard lock(mu_);
        std::set<DeploymentId> named;
        for (const RackTorrent& w : seeds) {
            named.insert(w.deployment);
            auto it = rack_torrents_.find(w.deployment);
            if (it == rack_torrents_.end()) {
                missing.push_back(&w);
            } else if (it->second.info_hash_hex == w.offer.info_hash_hex) {
                it->second.hosts = w.hosts;
                it->second.racks = w.racks;
            } else {
                named.erase(w.deployment);  // another torrent now: stopped below, started anew
                missing.push_back(&w);
            }
        }
        for (auto it = rack_torrents_.begin(); it != rack_torrents_.end();) {
            if (named.contains(it->first)) {
                ++it;
                continue;
            }
            log_locked("stopping the " + it->second.sender->name +
                       ": its hosts here are done, or it ended, or its owner no longer offers it");
            retire_locked(std::move(it->second.sender));
            unused_files.push_back(it->second.torrent_file);
            it = rack_torrents_.erase(it);
        }
    }
    for (const auto& file : unused_files) {
        std::error_code ec;
        std::filesystem::remove(file, ec);
    }
    for (const RackTorrent* w : missing) {
        const std::string id = std::to_string(w->deployment);
        auto cert = w->offer.racks.end();
        for (const std::string& rack : w->racks)
            if (cert = w->offer.racks.find(rack); cert != w->offer.racks.end()) break;
        if (cert == w->offer.racks.end()) continue;  // RackImages names only offered racks
        // Its certificate under STATE/secrets (0600, removed with the seed); the torrent is
        // public, beside the owner-side torrents.
        std::error_code ec;
        std::filesystem::create_directories(config_.state_dir / "torrents", ec);
        const std::string n = std::to_string(++next_secret_);
        auto sender = std::make_unique<Sender>();
        sender->secret_file =
            secrets_dir(config_.state_dir) / ("rack-torrent-seed-" + id + "-" + n + ".pem");
        if (auto s = imaging::torrent::write_peer_cert_file(sender->secret_file, cert->second);
            !s) {
            sender->secret_file.clear();
            log_("rack seed of deployment " + id + ": its certificate: " + s.message());
            continue;
        }
        const std::filesystem::path torrent_file =
            config_.state_dir / "torrents" / ("rack-" + id + "-" + n + ".torrent");
        {
            std::ofstream out(torrent_file, std::ios::binary | std::ios::trunc);
            out.write(w->offer.torrent.data(), std::streamsize(w->offer.torrent.size()));
            if (!out.flush()) {
                log_("rack seed of deployment " + id + ": cannot write " + torrent_file.string());
                std::filesystem::remove(torrent_file, ec);
                continue;  // sender's destructor removes the certificate
            }
        }
        std::unique_ptr<Sender> unused;  // destroyed after the lock
        {
            std::lock_guard lock(mu_);
            if (rack_torrents_.contains(w->deployment)) {  // started meanwhile
                unused = std::move(sender);
                std::filesystem::remove(torrent_file, ec);
                continue;
            }
            auto port =
                tcp_ports_.acquire({config_.torrent_port + kRackSeedPortsFrom, kRackSeedPorts});
            if (!port) {
                log_locked("rack seed of deployment " + id + ": " + port.status().message() +
                           "; this rack's hosts get the owner's seed");
                unused = std::move(sender);
                std::filesystem::remove(torrent_file, ec);
                continue;
            }
            sender->child = next_child_++;
            sender->port = std::move(*port);
            sender->name = "rack seed of deployment " + id;
            sender->argv = {config_.imaging_binary.string(),
                            "seed",
                            "--image",
                            image_dir_locked(w->image),
                            "--torrent",
                            torrent_file.string(),
                            "--listen",
                            "0.0.0.0:" + std::to_string(sender->port.number()),
                            "--peer-cert",
                            sender->secret_file.string()};
            std::string racks;
            for (const std::string& r : w->racks) racks += (racks.empty() ? "" : ", ") + r;
            const std::string line =
                "rack torrent: deployment " + id + "'s hosts in this server's racks (" +
                std::to_string(w->hosts.size()) + ") are seeded from its copy of " + w->image.name +
                "@" + w->image.version + " here, on port " + std::to_string(sender->port.number()) +
                " (rack " + racks + ", certificate \"" +
                imaging::torrent::certificate_name(cert->second.cert_pem) + "\")";
            log_locked(line);
            writes_.queue([this, line]() -> Status {
                if (auto e = store_.log_event(server_event(line)); !e) return e.status();
                return Status::ok();
            });
            RackSeed r;
            r.sender = std::move(sender);
            r.torrent_file = torrent_file;
            r.info_hash_hex = w->offer.info_hash_hex;
            r.racks = w->racks;
            r.hosts = w->hosts;
            rack_torrents_.emplace(w->deployment, std::move(r));
        }
    }
    apply_writes();
}

std::map<DeploymentId, RackTorrentSeed> Orchestrator::rack_torrent_seeds() {
    std::map<DeploymentId, RackTorrentSeed> out;
    std::lock_guard lock(mu_);
    for (const auto& [id, r] : rack_torrents_) {
        if (!r.sender->pid) continue;
        out.emplace(id,
                    RackTorrentSeed{server_host() + ":" + std::to_string(r.sender->port.number()),
                                    r.racks});
    }
    return out;
}

}  // namespace provisioner::server
