#include "rack_images.h"

#include "imaging/torrent/rack_map.h"
#include "lease_keeper.h"
#include "orchestrator.h"
#include "rack_dhcp.h"

namespace provisioner::server {

RackImages::RackImages(Store& store, RackImageCache& cache, ImagePeers& peers, std::string self,
                       ServedRacks served, ServeCopies serve, base::Clock& clock, Log log)
    : store_(store),
      cache_(cache),
      peers_(peers),
      self_(std::move(self)),
      served_(std::move(served)),
      serve_(std::move(serve)),
      clock_(clock),
      log_(std::move(log)) {}

void RackImages::tick() {
    const std::set<std::string> racks = served_();
    // A running deployment is held under its lease (released when it ends): reading the leases
    // is cheaper than the whole history of deployments.
    auto leases = store_.list_leases();
    if (!leases) return;  // the store answers again at the next tick
    std::map<DeploymentId, std::string> owners;
    for (const LeaseRow& l : *leases)
        if (auto id = deployment_of_lease(l.name)) owners[id] = l.owner;
    // The running deployments with hosts in these racks: their images stay, the missing come.
    std::map<HostId, std::string> in_racks;  // its rack if one of these, else ""
    std::vector<std::pair<Image, std::string>> wanted;
    std::vector<Orchestrator::RackMulticast> multicast;  // image: once the copy is here
    std::vector<Orchestrator::RackTorrent> torrents;     // the same
    std::map<std::string, std::map<DeploymentId, RackTorrentOffer>> offers;  // by owner
    std::set<std::string> needed;
    for (const auto& [id, _] : owners) {
        auto d = store_.get_deployment(id);
        if (!d || d->state != DeploymentState::running) continue;
        auto targets = store_.list_targets(d->id);
        if (!targets) continue;
        bool ours = false;
        std::set<HostId> unfinished;  // of the hosts in these racks
        std::set<std::string> unfinished_racks;
        for (const DeploymentTarget& t : *targets) {
            auto known = in_racks.find(t.host);
            if (known == in_racks.end()) {
                auto host = store_.get_host(t.host);
                known = in_racks
                            .emplace(t.host, host && racks.contains(host->rack) ? host->rack
                                                                                : std::string())
                            .first;
            }
            ours = ours || !known->second.empty();
            if (!known->second.empty() &&
                (t.state == TargetState::pending || t.state == TargetState::running)) {
                unfinished.insert(t.host);
                unfinished_racks.insert(known->second);
            }
        }
        if (!ours) continue;
        auto image = store_.get_image(d->image);
        if (!image) continue;
        needed.insert(image->image_sha256);
        const std::string& owner = owners[d->id];
        // The owner serves its deployment from the image it imported.
        if (owner == self_) continue;
        wanted.emplace_back(*image, owner);
        if (d->transport == Transport::multicast && !unfinished.empty())
            multicast.push_back({d->id, *image, unfinished});
        if (d->transport == Transport::torrent && !unfinished.empty()) {
            auto from = offers.find(owner);
            if (from == offers.end()) from = offers.emplace(owner, peers_.torrents_of(owner)).first;
            auto offer = from->second.find(d->id);
            if (offer == from->second.end()) continue;  // not (yet, or no longer) offered
            std::set<std::string> offered;
            for (const std::string& rack : unfinished_racks)
                if (offer->second.racks.contains(rack)) offered.insert(rack);
            if (!offered.empty())
                torrents.push_back({d->id, *image, unfinished, offered, offer->second});
        }
    }
    std::vector<Image> serving;
    for (const auto& [image, owner] : wanted) {
        fetch(image, owner, needed);
        if (cache_.has(image)) serving.push_back(image);
    }
    std::erase_if(multicast,
                  [&](const Orchestrator::RackMulticast& m) { return !cache_.has(m.image); });
    std::erase_if(torrents,
                  [&](const Orchestrator::RackTorrent& t) { return !cache_.has(t.image); });
    serve_(serving, multicast, torrents);
}

void exchange_rack_work(Store& store, ImagePeers& peers, Orchestrator& orchestrator,
                        const std::string& self, std::chrono::milliseconds lease_time,
                        std::string& last_sources,
                        const std::function<void(const std::string&)>& log) {
    auto leases = store.list_leases();
    if (!leases) return;
    const Timestamp now = store.now();
    std::map<std::string, std::map<ImageId, PeerSource>> sources;
    std::map<std::string, std::map<DeploymentId, MulticastSource>> multicast;
    std::map<std::string, std::map<TemplateId, TemplateDelta>> templates;
    std::set<std::string> foreign_racks;
    std::set<std::string> servers;
    std::string described;
    peers.publish_multicast(orchestrator.rack_multicast_sessions());
    peers.publish_templates(orchestrator.rack_template_servers());
    for (const LeaseRow& l : *leases) {
        if (l.owner == self) continue;
        servers.insert(l.owner);
        const std::string prefix = RackDhcp::presence_lease("");
        // A live server renews its presence every third of the lease, so more than half of it
        // is always left; less is a server that stopped renewing, whose hosts must not be sent
        // to it (after a takeover a job naming it again would be the same job: a failure).
        if (l.name.rfind(prefix, 0) != 0 || l.expires_at <= now + lease_time.count() / 2) continue;
        const std::string rack = l.name.substr(prefix.size());
        foreign_racks.insert(rack);
        auto sessions = peers.multicast_of(l.owner);
        for (const auto& [deployment, m] : sessions)
            described += "rack " + rack + ": multicast session of deployment " +
                         std::to_string(deployment) + " from " + l.owner + " (" + m.group + ":" +
                         std::to_string(m.port) + "); ";
        if (!sessions.empty()) multicast[rack] = std::move(sessions);
        auto published = peers.published(l.owner);
        for (const auto& [image, source] : published)
            described += "rack " + rack + ": image " + std::to_string(image) + " from " + l.owner +
                         " (" + source.address + "); ";
        if (!published.empty()) sources[rack] = std::move(published);
        auto copies = peers.templates_of(l.owner);
        for (const auto& [id, t] : copies)
            described += "rack " + rack + ": template " + std::to_string(id) + " from " + l.owner +
                         " (" + t.address + "); ";
        if (!copies.empty()) templates[rack] = std::move(copies);
    }
    if (described != last_sources) {
        log(described.empty() ? std::string("per-rack imaging: every rack's hosts image from the "
                                            "deployment's owner")
                              : "per-rack imaging: " + described);
        last_sources = described;
    }
    orchestrator.set_rack_sources(std::move(sources));
    orchestrator.set_rack_template_sources(std::move(templates));
    orchestrator.set_rack_multicast_sources(std::move(multicast), std::move(foreign_racks));
    std::set<DeploymentId> running;  // under their leases
    for (const LeaseRow& l : *leases)
        if (auto id = deployment_of_lease(l.name)) running.insert(id);
    if (auto mine = orchestrator.foreign_deliveries(running)) peers.publish_deliveries(*mine);
    for (const std::string& server : servers)
        if (auto theirs = peers.deliveries_of(server); !theirs.empty())
            orchestrator.absorb_peer_deliveries(theirs, server);
}

void exchange_rack_torrents(Store& store, ImagePeers& peers, Orchestrator& orchestrator,
                            const std::string& self, std::chrono::milliseconds lease_time,
                            std::string& last, const std::function<void(const std::string&)>& log) {
    peers.publish_torrents(orchestrator.rack_torrent_offers());
    peers.publish_torrent_seeds(orchestrator.rack_torrent_seeds());
    const std::set<std::string> racks = orchestrator.torrent_racks();
    if (racks.empty() && last.empty()) return;  // no torrent deployment here, none before
    imaging::torrent::RackMap hosts;
    imaging::torrent::RackSeeds seeds;
    std::string described;
    for (const std::string& rack : racks) {
        HostFilter filter;
        filter.rack = rack;
        auto listed = store.list_hosts(filter);
        if (!listed) return;  // the store answers again at the next call
        for (const Host& h : *listed) {
            if (h.ip.empty()) continue;
            const bool v4 = h.ip.find(':') == std::string::npos;
            if (hosts.add(h.ip + (v4 ? "/32" : "/128"), rack))
                described += h.ip + " " + rack + "; ";
        }
    }
    if (!racks.empty())
        if (auto leases = store.list_leases()) {
            const Timestamp now = store.now();
            const std::string prefix = RackDhcp::presence_lease("");
            std::set<std::string> read;
            for (const LeaseRow& l : *leases) {
                // Live rack servers only, as exchange_rack_work() counts them.
                if (l.owner == self || l.name.rfind(prefix, 0) != 0 ||
                    l.expires_at <= now + lease_time.count() / 2 || !read.insert(l.owner).second)
                    continue;
                for (const auto& [deployment, seed] : peers.torrent_seeds_of(l.owner)) {
                    std::string host = seed.address.substr(0, seed.address.rfind(':'));
                    if (host.size() > 2 && host.front() == '[')
                        host = host.substr(1, host.size() - 2);
                    boost::system::error_code ec;
                    auto address = boost::asio::ip::make_address(host, ec);
                    if (ec) continue;
                    seeds[address].insert(seed.racks.begin(), seed.racks.end());
                    described += "seed of deployment " + std::to_string(deployment) + " at " +
                                 seed.address + " (" + l.owner + ") for racks";
                    for (const std::string& r : seed.racks) described += " " + r;
                    described += "; ";
                }
            }
        }
    if (described == last) return;
    for (const auto& [address, of] : seeds) {
        std::string names;
        for (const std::string& r : of) names += (names.empty() ? "" : ", ") + r;
        log("rack torrent: the tracker tells rack " + names +
            "'s hosts the rack server's seed at " + address.to_string() + " first");
    }
    orchestrator.set_tracker_racks(std::move(hosts), std::move(seeds));
    last = described;
}

void RackImages::fetch(const Image& image, const std::string& owner,
                       const std::set<std::string>& needed) {
    if (cache_.has(image)) return;  // two deployments of one image
    Retry& retry = retries_[image.image_sha256];
    if (clock_.now() < retry.next) return;
    const std::string what = image.name + "@" + image.version;
    std::string errors;
    const std::vector<PeerSource> sources = peers_.sources(image.id, owner);
    if (sources.empty()) return;  // the owner's delta server does not listen yet: next tick
    for (const PeerSource& source : sources) {
        auto got = cache_.fetch(image, source, needed);
        if (!got) {
            errors += (errors.empty() ? "" : "; ") + got.status().message();
            if (got.status().code() == Code::storage) break;  // no room: no peer helps
            continue;
        }
        retries_.erase(image.image_sha256);
        const std::string line = describe_fetch("rack image cache", what, source, *got);
        log_(line);
        if (auto logged = store_.log_event(server_event(line)); !logged)
            log_("recording the fetch: " + logged.status().message());
        return;
    }
    retry.wait = std::min<std::chrono::seconds>(
        std::chrono::seconds(60), retry.wait.count() ? retry.wait * 2 : std::chrono::seconds(2));
    retry.next = clock_.now() + retry.wait;
    log_("rack image cache: " + what + " not fetched: " + errors + "; again in " +
         std::to_string(retry.wait.count()) + " s");
}

}  // namespace provisioner::server
