// A rack server keeping the hot templates in its cache (issue 20, item 4: "a local cache of
// images and templates fetched from its peers by delta"). Once a second on the rack image
// thread: while a rack it serves has a Dom0 host, or one on its way (a host neither discovered
// nor retired: an enrolled host may run a Dom0 agent installed without our netboot, and every
// other is being or was imaged), fetches every hot
// template (hot_templates.h) it does not hold from the server that serves them (the
// hot-template lease holder: hot_template_lease.h) by delta into its template cache, a
// RackImageCache of its own (STATE/template-cache: every chunk checked against the signed
// manifest as it comes, every copy found at start read back before it is served). The copies
// of the hot templates it holds get a delta server of this server's with a secret of its own
// (Orchestrator::set_rack_templates()), which it publishes sealed
// (ImagePeers::publish_templates()); the answer to a Dom0 report from a host of its racks
// names that server (Orchestrator::template_delta()), on any server, while this one is live,
// and the serving server's otherwise, so that its hosts go back there when it dies. Each
// fetch is a log line and a server event; one that fails is tried again after 2 s, doubling
// to a minute. A template that cools down is no longer served here; its copy stays until the
// cache needs the room. While this server holds the hot-template lease it serves its own
// templates and caches none.
//
// Not thread-safe: tick() belongs to one thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "hot_templates.h"
#include "orchestrator.h"
#include "provisioner/store.h"
#include "rack_image_cache.h"

namespace provisioner::server {

class RackTemplates {
  public:
    using Log = std::function<void(const std::string&)>;
    using ServedRacks = std::function<std::set<std::string>()>;
    // Where another server serves template id (its id, address and secret): nullopt while none
    // does (HotTemplateLease::held_elsewhere()).
    using Serving = std::function<std::optional<std::pair<std::string, TemplateDelta>>(TemplateId)>;
    // The copies this server serves to its racks' Dom0 hosts now, and those racks
    // (Orchestrator::set_rack_templates()).
    using ServeCopies = std::function<void(const std::vector<Orchestrator::RackTemplate>&,
                                           const std::set<std::string>&)>;
    // All must outlive it. cool_down: --template-cool-down, as hot_templates() takes it.
    RackTemplates(Store& store, RackImageCache& cache, ServedRacks served, Serving serving,
                  ServeCopies serve, std::chrono::seconds cool_down, base::Clock& clock, Log log);

    void tick();

    // The cache's record of a template's copy: the template's packed image (template_image.h),
    // whose name and version are the template's and whose raw SHA-256 is the template file's.
    static Image image_of(const Template& t);

  private:
    struct Retry {
        base::Clock::time_point next{};
        std::chrono::seconds wait{0};
    };
    void fetch(const Template& t, const std::set<std::string>& needed);

    Store& store_;
    RackImageCache& cache_;
    ServedRacks served_;
    Serving serving_;
    ServeCopies serve_;
    const std::chrono::seconds cool_down_;
    base::Clock& clock_;
    Log log_;
    std::map<std::string, Retry> retries_;  // by the template's sha256
};

// One fetch of template t's copy into cache (as RackTemplates::image_of(t)) from a delta server
// of it: server, the id of the server it runs on; delta, where it listens and its secret. An
// anonymous session under that secret, as a Dom0 agent's pre-copy; every chunk checked against
// the signed manifest (rack_image_cache.h). used: the source, for describe_fetch(). needed: as
// RackImageCache::fetch() takes it. Also the hot-template holder's fetch of a pack it lacks
// (hot_template_packs.h).
Result<RackImageCache::Fetched> fetch_template_copy(RackImageCache& cache, const Template& t,
                                                    const std::string& server,
                                                    const TemplateDelta& delta,
                                                    const std::set<std::string>& needed,
                                                    PeerSource& used);

}  // namespace provisioner::server
