// The hot templates' packs on the server that serves them (issue 20, item 3: hot-template
// serving taken over). A template is packed (template_image.h) on the server that imported
// it, and the holder of the hot-template lease (hot_template_lease.h) runs a delta server of
// every hot template whose pack is in its STATE/templates (Orchestrator::tick). When the
// holder dies another server takes the lease over; a template imported on the dead server has
// no pack there, and would be served by nobody.
//
// So, on the holder, once a second on the rack image thread (a fetch takes seconds): every hot
// template without a pack here is named unavailable (a log line and a server event, once),
// and its pack is fetched by delta, every chunk checked against the template's signed
// manifest (fetch_template_copy(), rack_templates.h), from a live server that publishes a
// delta server of it ("rack-templates:ID", image_peers.h: a rack server's template cache, or
// a server that offers its own pack, below), into a template cache (rack_image_cache.h: a rack
// server's own, else one this server opens when it first needs it); a copy already in that
// cache needs no fetch. The whole copy is then linked into STATE/templates/REF.image (a
// directory renamed into place, so it appears only whole: the orchestrator serves it from its
// next tick), with a log line and an event. Until then the template is listed hot without a
// delta server (the Dom0 agents keep it and wait). A template no peer has waits, with a line
// saying so; a failed fetch is tried again after 2 s, doubling to a minute.
//
// On any other server, offers() names the hot templates whose pack this server holds and the
// live holder does not serve: the wiring runs a delta server of each (as a rack server's copies:
// Orchestrator::set_rack_templates()), which every server publishes (exchange_rack_work()), so
// that the original importer, alive again, hands the holder what it lacks.
//
// Not thread-safe: tick() and offers() belong to one thread (the rack image thread).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "hot_template_lease.h"
#include "orchestrator.h"
#include "provisioner/store.h"
#include "rack_image_cache.h"

namespace provisioner::server {

class HotTemplatePacks {
  public:
    using Log = std::function<void(const std::string&)>;
    struct Options {
        std::filesystem::path templates_dir;  // STATE/templates, where the orchestrator serves from
        std::string self;                     // this server's id
        std::string seal_key;                 // the site key's text, as image_peers.h takes it
        std::chrono::seconds cool_down{0};    // --template-cool-down, as hot_templates() takes it
        // The cache fetched copies land in when the server has none of its own (a rack
        // server's template cache): opened at the first fetch.
        RackImageCache::Options cache;
    };
    // All must outlive it. rack_cache: a rack server's template cache (rack_templates.h), or
    // nullptr.
    HotTemplatePacks(Store& store, HotTemplateLease& lease, RackImageCache* rack_cache,
                     Options options, base::Clock& clock, Log log);

    void tick();
    // What this server offers the holder (see above): its own packs of the hot templates the
    // live holder does not serve. Empty on the holder, and while no holder is live.
    std::vector<Orchestrator::RackTemplate> offers();

  private:
    struct Missing {
        base::Clock::time_point next{};
        std::chrono::seconds wait{0};
        std::string said;  // the last line logged about it, so that each is said once
    };
    bool packed_here(const Template& t) const;
    RackImageCache* cache();
    // Where a live peer publishes a delta server of template id: server id and delta server.
    std::vector<std::pair<std::string, TemplateDelta>> peers_of(TemplateId id);
    void bring(const Template& t, const std::set<std::string>& needed);
    void say(Missing& m, const std::string& line, bool event);
    void retry_later(Missing& m);

    Store& store_;
    HotTemplateLease& lease_;
    RackImageCache* rack_cache_;
    const Options options_;
    base::Clock& clock_;
    Log log_;
    std::unique_ptr<RackImageCache> own_cache_;
    std::map<TemplateId, Missing> missing_;
};

// Links (or, across file systems, copies) a whole copy's manifest.json and chunks.pack into
// dir, which appears only whole (built as DIR.fetched.partial and renamed); storage error
// naming what failed, nothing left behind.
Status install_template_pack(const std::filesystem::path& copy, const std::filesystem::path& dir);

}  // namespace provisioner::server
