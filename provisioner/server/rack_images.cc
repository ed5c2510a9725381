#include "rack_images.h"

#include <cstdio>

#include "lease_keeper.h"

namespace provisioner::server {

RackImages::RackImages(Store& store, RackImageCache& cache, ImagePeers& peers, std::string self,
                       ServedRacks served, base::Clock& clock, Log log)
    : store_(store),
      cache_(cache),
      peers_(peers),
      self_(std::move(self)),
      served_(std::move(served)),
      clock_(clock),
      log_(std::move(log)) {}

void RackImages::tick() {
    const std::set<std::string> racks = served_();
    if (racks.empty()) return;
    auto deployments = store_.list_deployments();
    if (!deployments) return;  // the store answers again at the next tick
    std::map<DeploymentId, std::string> owners;
    if (auto leases = store_.list_leases())
        for (const LeaseRow& l : *leases)
            if (auto id = deployment_of_lease(l.name)) owners[id] = l.owner;
    // The running deployments with hosts in these racks: their images stay, the missing come.
    std::map<HostId, bool> in_racks;
    std::vector<std::pair<Image, std::string>> wanted;
    std::set<std::string> needed;
    for (const Deployment& d : *deployments) {
        if (d.state != DeploymentState::running) continue;
        auto targets = store_.list_targets(d.id);
        if (!targets) continue;
        bool ours = false;
        for (const DeploymentTarget& t : *targets) {
            auto known = in_racks.find(t.host);
            if (known == in_racks.end()) {
                auto host = store_.get_host(t.host);
                known = in_racks.emplace(t.host, host && racks.contains(host->rack)).first;
            }
            ours = ours || known->second;
        }
        if (!ours) continue;
        auto image = store_.get_image(d.image);
        if (!image) continue;
        needed.insert(image->image_sha256);
        const std::string& owner = owners[d.id];
        // The owner serves its deployment from the image it imported.
        if (owner != self_ && !cache_.has(*image)) wanted.emplace_back(*image, owner);
    }
    for (const auto& [image, owner] : wanted) fetch(image, owner, needed);
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
        const auto& r = got->report;
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%.1f", r.seconds);
        std::string line = "rack image cache: " + what + " fetched from " + source.server + " (" +
                           source.address + ") by delta: " + std::to_string(r.chunks_fetched) +
                           " of " + std::to_string(r.chunks_stored) + " chunks, " +
                           std::to_string(r.bytes_fetched) + " bytes, in " + seconds + " s";
        if (r.chunks_reused)
            line += "; " + std::to_string(r.chunks_reused) + " chunks kept from " + got->basis;
        for (const std::string& gone : got->evicted) line += "; evicted " + gone;
        log_(line);
        if (auto logged = store_.log_event(server_event(line)); !logged)
            log_("recording the fetch: " + logged.status().message());
        return;
    }
    retry.wait = std::min<std::chrono::seconds>(
        std::chrono::seconds(60), retry.wait.count() ? retry.wait * 2 : std::chrono::seconds(2));
    retry.next = clock_.now() + retry.wait;
    log_("rack image cache: " + what + " not fetched: " +
         errors + "; again in " +
         std::to_string(retry.wait.count()) + " s");
}

}  // namespace provisioner::server
