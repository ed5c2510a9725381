#include "hot_template_packs.h"

#include <algorithm>
#include <system_error>

#include "hot_templates.h"
#include "image_peers.h"
#include "rack_templates.h"
#include "server_presence.h"
#include "template_image.h"

namespace provisioner::server {

namespace fs = std::filesystem;

HotTemplatePacks::HotTemplatePacks(Store& store, HotTemplateLease& lease,
                                   RackImageCache* rack_cache, Options options, base::Clock& clock,
                                   Log log)
    : store_(store),
      lease_(lease),
      rack_cache_(rack_cache),
      options_(std::move(options)),
      clock_(clock),
      log_(std::move(log)) {}

bool HotTemplatePacks::packed_here(const Template& t) const {
    std::error_code ec;
    return fs::exists(template_image_dir(options_.templates_dir, t.ref()) / "manifest.json", ec);
}

RackImageCache* HotTemplatePacks::cache() {
    if (rack_cache_) return rack_cache_;
    if (own_cache_) return own_cache_.get();
    auto opened = RackImageCache::open(options_.cache, clock_);
    if (!opened) {
        log_("hot templates: " + opened.status().message());
        return nullptr;
    }
    own_cache_ = std::move(*opened);
    own_cache_->start_checking([this](const std::string& line, bool dropped) {
        log_(line);
        if (!dropped) return;
        if (auto logged = store_.log_event(server_event(line)); !logged)
            log_("recording it: " + logged.status().message());
    });
    return own_cache_.get();
}

std::vector<std::pair<std::string, TemplateDelta>> HotTemplatePacks::peers_of(TemplateId id) {
    std::vector<std::pair<std::string, TemplateDelta>> out;
    auto leases = store_.list_leases();
    if (!leases) {
        log_("hot templates: reading the servers' leases: " + leases.status().message());
        return out;
    }
    const Timestamp now = store_.now();
    const std::string presence = ServerPresence::kLeasePrefix;
    for (const LeaseRow& l : *leases) {
        if (l.name.rfind(presence, 0) != 0 || l.expires_at <= now || l.owner == options_.self)
            continue;  // a dead server's delta servers are gone with it
        auto value = store_.get_setting(ImagePeers::kTemplatesPrefix + l.owner);
        if (!value) continue;  // publishes none (not_found), or read again at the next try
        auto servers = decode_template_sources(options_.seal_key, l.owner, *value);
        if (!servers) {
            log_("hot templates: " + servers.status().message() + "; not fetched from there");
            continue;
        }
        if (auto it = servers->find(id); it != servers->end())
            out.emplace_back(l.owner, it->second);
    }
    return out;
}

void HotTemplatePacks::say(Missing& m, const std::string& line, bool event) {
    if (m.said == line) return;
    m.said = line;
    log_(line);
    if (!event) return;
    if (auto logged = store_.log_event(server_event(line)); !logged)
        log_("recording it: " + logged.status().message());
}

void HotTemplatePacks::retry_later(Missing& m) {
    m.wait = std::min<std::chrono::seconds>(std::chrono::seconds(60),
                                            m.wait.count() ? m.wait * 2 : std::chrono::seconds(2));
    m.next = clock_.now() + m.wait;
}

void HotTemplatePacks::tick() {
    if (!lease_.held_here()) {
        missing_.clear();  // a later term says it all again
        return;
    }
    auto catalog = store_.list_templates();
    if (!catalog) return;  // the orchestrator's tick says so; again at the next tick
    const auto hot = hot_templates(*catalog, store_.now(), options_.cool_down);
    std::set<std::string> needed;
    for (const Template& t : hot) needed.insert(t.sha256);
    std::set<TemplateId> lacking;
    for (const Template& t : hot) {
        if (packed_here(t)) continue;
        lacking.insert(t.id);
        bring(t, needed);
    }
    std::erase_if(missing_, [&](const auto& entry) { return !lacking.contains(entry.first); });
}

void HotTemplatePacks::bring(const Template& t, const std::set<std::string>& needed) {
    auto [it, fresh] = missing_.try_emplace(t.id);
    Missing& m = it->second;
    if (fresh)
        say(m,
            "hot template " + t.ref() +
                " is unavailable: its pack is not on this server, which serves the hot "
                "templates now; fetching a copy from a peer by delta",
            true);
    if (clock_.now() < m.next) return;
    RackImageCache* c = cache();
    if (!c) {
        retry_later(m);
        return;
    }
    std::string whence;
    std::optional<fs::path> copy = c->path_of(RackTemplates::image_of(t));
    if (copy) {
        whence = "its copy in this server's template cache";
    } else {
        auto peers = peers_of(t.id);
        if (peers.empty()) {
            say(m,
                "hot template " + t.ref() +
                    " stays unavailable: no live server publishes a copy of it (asked again "
                    "after 2 s, doubling to a minute)",
                false);
            retry_later(m);
            return;
        }
        for (const auto& [server, delta] : peers) {
            PeerSource used;
            auto got = fetch_template_copy(*c, t, server, delta, needed, used);
            if (!got) {
                log_("hot templates: " + t.ref() + " not fetched from " + server + " (" +
                     delta.address + "): " + got.status().message());
                continue;
            }
            const std::string line = describe_fetch("hot templates", t.ref(), used, *got);
            log_(line);
            if (auto logged = store_.log_event(server_event(line)); !logged)
                log_("recording the fetch: " + logged.status().message());
            copy = got->copy.dir;
            whence = "fetched from " + server;
            break;
        }
        if (!copy) {
            retry_later(m);
            log_("hot templates: " + t.ref() + " again in " + std::to_string(m.wait.count()) +
                 " s");
            return;
        }
    }
    const fs::path dir = template_image_dir(options_.templates_dir, t.ref());
    if (Status s = install_template_pack(*copy, dir); !s) {
        retry_later(m);
        log_("hot templates: " + s.message() + "; again in " + std::to_string(m.wait.count()) +
             " s");
        return;
    }
    const std::string line = "hot template " + t.ref() + " is available again: its pack (" +
                             whence + ") is whole on this server, which serves it from now on";
    log_(line);
    if (auto logged = store_.log_event(server_event(line)); !logged)
        log_("recording it: " + logged.status().message());
    missing_.erase(it);
}

std::vector<Orchestrator::RackTemplate> HotTemplatePacks::offers() {
    std::vector<Orchestrator::RackTemplate> out;
    const auto holder = lease_.holder_elsewhere();
    if (!holder) return out;
    auto catalog = store_.list_templates();
    if (!catalog) return out;
    for (const Template& t : hot_templates(*catalog, store_.now(), options_.cool_down))
        if (!lease_.held_elsewhere(t.id) && packed_here(t))
            out.push_back({t, template_image_dir(options_.templates_dir, t.ref())});
    return out;
}

Status install_template_pack(const fs::path& copy, const fs::path& dir) {
    const std::string what = "installing the pack " + dir.string() + " from " + copy.string();
    const fs::path partial = dir.string() + ".fetched.partial";
    std::error_code ec;
    fs::remove_all(partial, ec);
    fs::create_directories(partial, ec);
    if (ec) return Status::error(Code::storage, what + ": " + ec.message());
    for (const char* name : {"manifest.json", "chunks.pack"}) {
        fs::create_hard_link(copy / name, partial / name, ec);
        if (ec) {  // another file system: copied instead
            ec.clear();
            fs::copy_file(copy / name, partial / name, ec);
        }
        if (ec) {
            const std::string why = ec.message();
            fs::remove_all(partial, ec);
            return Status::error(Code::storage, what + ": " + name + ": " + why);
        }
    }
    if (!fs::exists(dir / "manifest.json", ec)) fs::remove_all(dir, ec);  // a broken leftover
    fs::rename(partial, dir, ec);
    if (ec) {
        const std::string why = ec.message();
        fs::remove_all(partial, ec);
        return Status::error(Code::storage, what + ": renaming into place: " + why);
    }
    return Status::ok();
}

}  // namespace provisioner::server
