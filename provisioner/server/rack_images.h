// A rack server keeping its image cache filled (issue 20, item 4): once a second on its own
// thread (a fetch takes seconds and must hold back neither the process thread nor the API),
// for every running
// deployment another server owns that has hosts in a rack it serves, fetches the deployment's
// image into its cache (rack_image_cache.h) from the owner, or failing that from any peer that
// has it. Each fetch is a log line and a server event: from whom, chunks fetched and reused,
// bytes. A fetch that fails is tried again after 2 s, doubling to a minute.
//
// Not thread-safe: tick() belongs to one thread.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>

#include "base/clock.h"
#include "image_peers.h"
#include "provisioner/store.h"
#include "rack_image_cache.h"

namespace provisioner::server {

class RackImages {
  public:
    using Log = std::function<void(const std::string&)>;
    // The racks this server serves now (RackDhcp::served()).
    using ServedRacks = std::function<std::set<std::string>()>;
    // All must outlive it.
    RackImages(Store& store, RackImageCache& cache, ImagePeers& peers, std::string self,
               ServedRacks served, base::Clock& clock, Log log);

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
    base::Clock& clock_;
    Log log_;
    std::map<std::string, Retry> retries_;  // by image_sha256
};

}  // namespace provisioner::server
