#include "rack_templates.h"

#include <algorithm>

#include "imaging/secret.h"
#include "lease_keeper.h"

namespace provisioner::server {

RackTemplates::RackTemplates(Store& store, RackImageCache& cache, ServedRacks served,
                             Serving serving, ServeCopies serve, std::chrono::seconds cool_down,
                             base::Clock& clock, Log log)
    : store_(store),
      cache_(cache),
      served_(std::move(served)),
      serving_(std::move(serving)),
      serve_(std::move(serve)),
      cool_down_(cool_down),
      clock_(clock),
      log_(std::move(log)) {}

Image RackTemplates::image_of(const Template& t) {
    Image image;
    image.id = t.id;
    image.name = t.name;
    image.version = t.version;
    image.image_sha256 = t.sha256;
    image.raw_size = t.size;
    image.stored_size = t.size;  // the pack is not larger than the file: room enough
    return image;
}

void RackTemplates::tick() {
    std::set<std::string> racks;
    for (const std::string& rack : served_()) {
        // The states a Dom0 host is in, or one on its way, most likely first: mostly one query.
        for (HostState state :
             {HostState::ready, HostState::imaged, HostState::unreachable, HostState::enrolled,
              HostState::booting, HostState::imaging, HostState::failed}) {
            HostFilter dom0;
            dom0.state = state;
            dom0.rack = rack;
            dom0.limit = 1;
            auto hosts = store_.list_hosts(dom0);
            if (!hosts) return;  // the store answers again at the next tick; nothing changes
            if (hosts->empty()) continue;
            racks.insert(rack);
            break;
        }
    }
    std::vector<Orchestrator::RackTemplate> copies;
    if (!racks.empty()) {
        auto catalog = store_.list_templates();
        if (!catalog) return;
        const auto hot = hot_templates(*catalog, store_.now(), cool_down_);
        std::set<std::string> needed;
        for (const Template& t : hot) needed.insert(t.sha256);
        for (const Template& t : hot) {
            fetch(t, needed);
            if (auto dir = cache_.path_of(image_of(t))) copies.push_back({t, *dir});
        }
    }
    serve_(copies, racks);
}

void RackTemplates::fetch(const Template& t, const std::set<std::string>& needed) {
    const Image image = image_of(t);
    if (cache_.has(image)) return;
    Retry& retry = retries_[t.sha256];
    if (clock_.now() < retry.next) return;
    auto serving = serving_(t.id);
    if (!serving) return;  // this server serves them, or no server does yet: next tick
    const auto& [server, delta] = *serving;
    PeerSource source;
    auto got = fetch_template_copy(cache_, t, server, delta, needed, source);
    if (!got) {
        retry.wait = std::min<std::chrono::seconds>(
            std::chrono::seconds(60),
            retry.wait.count() ? retry.wait * 2 : std::chrono::seconds(2));
        retry.next = clock_.now() + retry.wait;
        log_("rack template cache: " + t.ref() + " not fetched: " + got.status().message() +
             "; again in " + std::to_string(retry.wait.count()) + " s");
        return;
    }
    retries_.erase(t.sha256);
    const std::string line = describe_fetch("rack template cache", t.ref(), source, *got);
    log_(line);
    if (auto logged = store_.log_event(server_event(line)); !logged)
        log_("recording the fetch: " + logged.status().message());
}

Result<RackImageCache::Fetched> fetch_template_copy(RackImageCache& cache, const Template& t,
                                                    const std::string& server,
                                                    const TemplateDelta& delta,
                                                    const std::set<std::string>& needed,
                                                    PeerSource& used) {
    auto secret = imaging::secret_from_hex(delta.secret);
    if (!secret)  // what is handed out opened under the site key; never here
        return Status::error(Code::invalid_argument,
                             "the template server of " + t.ref() + " on " + server +
                                 " has no usable secret: " + secret.status().message());
    used = PeerSource{};
    used.server = server;
    used.address = delta.address;
    used.key = *secret;
    used.master = *secret;
    return cache.fetch(RackTemplates::image_of(t), used, needed);
}

}  // namespace provisioner::server
