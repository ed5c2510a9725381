// A rack server keeping its image cache filled (issue 20, item 4): once a second on its own
// thread (a fetch takes seconds and must hold back neither the process thread nor the API),
// for every running
// deployment another server owns that has hosts in a rack it serves, fetches the deployment's
// image into its cache (rack_image_cache.h) from the owner, or failing that from any peer that
// has it. Each fetch is a log line and a server event: from whom, chunks fetched and reused,
// bytes. A fetch that fails is tried again after 2 s, doubling to a minute. Per-rack imaging:
// each image so held gets a delta server of the copy here (ServeCopies), which the owner
// names in the jobs of this rack's hosts (exchange_rack_work below). Whatever the deployment's
// transport: the owner runs a delta server of the image of any deployment with hosts in a rack
// another server serves (Orchestrator::set_rack_multicast_sources()). Multicast in the rack: a
// multicast deployment's copy held here also gets a multicast sender of this server's for the
// hosts of its racks (Orchestrator::set_rack_multicast()), which the owner names in their jobs.
// BitTorrent in the rack: a torrent deployment's copy held here is seeded by an `imaging seed`
// of this server's (Orchestrator::set_rack_torrents()) while its hosts in these racks are
// unfinished and the owner offers its torrent and a seed certificate for their racks
// (ImagePeers::torrents_of()); the owner's tracker tells those hosts this seed first.
//
// Not thread-safe: tick() belongs to one thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "base/clock.h"
#include "image_peers.h"
#include "orchestrator.h"
#include "provisioner/store.h"
#include "rack_image_cache.h"

namespace provisioner::server {

class RackImages {
  public:
    using Log = std::function<void(const std::string&)>;
    // The racks this server serves now (RackDhcp::served()).
    using ServedRacks = std::function<std::set<std::string>()>;
    // The images whose copies this server serves to its racks' hosts now
    // (Orchestrator::set_rack_images()), the multicast deployments it sends them to its
    // racks' hosts for (Orchestrator::set_rack_multicast()), and the torrent deployments it
    // seeds them in its racks for (Orchestrator::set_rack_torrents()).
    using ServeCopies = std::function<void(const std::vector<Image>&,
                                           const std::vector<Orchestrator::RackMulticast>&,
                                           const std::vector<Orchestrator::RackTorrent>&)>;
    // All must outlive it.
    RackImages(Store& store, RackImageCache& cache, ImagePeers& peers, std::string self,
               ServedRacks served, ServeCopies serve, base::Clock& clock, Log log);

    void tick();

  private:
    struct Retry {
        base::Clock::time_point next{};
        std::chrono::seconds wait{0};
    };
    void fetch(const Image& image, const std::string& owner, const std::set<std::string>& needed);

    Store& store_;
    RackImageCache& cache_;
    ImagePeers& peers_;
    const std::string self_;
    ServedRacks served_;
    ServeCopies serve_;
    base::Clock& clock_;
    Log log_;
    std::map<std::string, Retry> retries_;  // by image_sha256
};

// Once a second on every server, with the store: tells the orchestrator where each rack whose
// live rack server (lease "rack-server:R" with more than half of lease_time left: renewed
// lately) is another server serves which images,
// so that its delta jobs send that rack's hosts there (a line in the log when that changes),
// and which multicast sessions of this server's deployments it runs (and, a rack server,
// publishes its own: ImagePeers::publish_multicast()), and where it serves its copies of the
// hot templates to that rack's Dom0 hosts (publishing this server's own: rack_templates.h);
// publishes the deliveries this server's delta servers confirmed for other servers'
// deployments, and takes in those that other servers published for this one's.
void exchange_rack_work(Store& store, ImagePeers& peers, Orchestrator& orchestrator,
                        const std::string& self, std::chrono::milliseconds lease_time,
                        std::string& last_sources,
                        const std::function<void(const std::string&)>& log);

// BitTorrent in the rack, once a second on every server, with the store: publishes what rack
// servers need to seed this server's torrent deployments (ImagePeers::publish_torrents()) and,
// a rack server, where its own seeds listen (publish_torrent_seeds()); and tells this server's
// tracker the racks of its torrent deployments' hosts (their inventory addresses, those racks
// read at each call) and the seeds that live rack servers run in their racks, whenever that
// changed (last: what it told last).
void exchange_rack_torrents(Store& store, ImagePeers& peers, Orchestrator& orchestrator,
                            const std::string& self, std::chrono::milliseconds lease_time,
                            std::string& last, const std::function<void(const std::string&)>& log);

}  // namespace provisioner::server
