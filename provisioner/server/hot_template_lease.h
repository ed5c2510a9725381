// Hot-template serving as a singleton job (issue 20): of the servers sharing a store, one at a
// time runs the delta servers of the hot templates (hot_templates.h, the Orchestrator's tick),
// under the lease "hot-templates" (lease_keeper.h), so that N servers do not each pre-copy every
// template to every host. The holder publishes in the store (setting "hot-template-servers")
// where each of its template servers listens and its secret; every server answers the Dom0
// agents' reports with those, so an agent pre-copies from the holder whichever server it
// reports to. When the holder dies its lease expires; the first server to find it so takes it
// (a server event says so), starts the template servers and publishes its own; an agent whose
// pre-copy broke off tries again later (5 s, doubling) and gets the new addresses.
//
// The secrets are sealed in the store (AES-256-GCM, power::seal_text) under a key derived
// from the site's image signing key (STATE/site.key), which every server of the site holds on
// its own disk and the store never does: a reader of the database alone learns where the
// template servers listen, not how to speak to them, and a writer cannot point agents at a
// server of its own (the holder, template id and address are the sealed secret's associated
// data). A server with another site.key cannot open them: it logs so and hands out none.
//
// Thread-safe: serve(), publish() and release() run on the process thread, published() on API
// workers, held_elsewhere(), held_here() and holder_elsewhere() on the rack image thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "base/clock.h"
#include "hot_templates.h"
#include "lease_keeper.h"
#include "provisioner/store.h"

namespace provisioner::server {

class HotTemplateLease {
  public:
    static constexpr const char* kName = "hot-templates";
    static constexpr const char* kSetting = "hot-template-servers";

    // All must outlive it. seal_key: the bytes of the site's signing key file (the secret
    // every server of the site shares, which the store lacks). log: one line for the server's
    // log.
    HotTemplateLease(LeaseKeeper& leases, Store& store, base::Clock& clock, std::string seal_key,
                     std::function<void(const std::string&)> log);

    // Every tick: whether this server serves the hot templates now. Holding the lease: yes
    // (LeaseKeeper renews it; one lost at renewal is no longer held). Otherwise, at most once
    // a second, takes it when it is free or its holder let it expire, else reads what the
    // holder published.
    bool serve();
    // The holder's template servers that listen now, by template id; written to the store
    // when they differ from what this server last wrote. Only while serve() says yes.
    void publish(const std::map<TemplateId, TemplateDelta>& servers);
    // Where the holder serves template id, as last read; nullopt when it does not (yet), or
    // when what was read is not the live holder's.
    std::optional<TemplateDelta> published(TemplateId id) const;
    // The same with the holder's server id, for a rack server's cache (rack_templates.h):
    // nullopt too while this server holds the lease (it serves its own templates).
    std::optional<std::pair<std::string, TemplateDelta>> held_elsewhere(TemplateId id) const;
    // Whether this server holds the lease now (any thread).
    bool held_here() const { return leases_.holds(kName); }
    // The live holder's server id as last read, when another server holds the lease; nullopt
    // while this server holds it, or none is known to (its lease expired).
    std::optional<std::string> holder_elsewhere() const;
    // At stop: gives the lease up, so that another server takes the serving over at once.
    void release();

  private:
    Timestamp wall_ms() const;
    void read_published();  // under no lock; takes mu_ to store what it read

    LeaseKeeper& leases_;
    Store& store_;
    base::Clock& clock_;
    const std::string seal_key_;
    std::function<void(const std::string&)> log_;
    base::Clock::time_point next_try_{};  // the process thread's
    std::optional<std::string> written_;  // the process thread's: what it last wrote, unsealed
    mutable std::mutex mu_;               // guards what follows
    std::string holder_;                  // the live holder as last seen ("" unknown)
    Timestamp holder_until_ = 0;          // its lease's expiry as last seen
    std::string published_by_;
    std::map<TemplateId, TemplateDelta> published_;
};

}  // namespace provisioner::server
