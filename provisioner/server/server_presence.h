// A server's presence in the shared store, and what it published there under its own id.
// Server ids are new at every start (make_server_id), so each start publishes settings of its
// own ("image-delta-servers:ID", "rack-multicast:ID", "rack-deliveries:ID": image_peers.h);
// without this they stayed behind after the server was gone, one set per restart.
//
// Every server holds the lease "server:ID" from its start (LeaseKeeper renews it with its
// others), so the others can tell when it went away: its lease expired. A clean stop deletes
// what points peers and hosts at its listeners (its image delta servers, its rack multicast
// sessions), which are gone; its confirmed rack deliveries stay for their owners to read, and
// its presence lease is left to expire. Any server then sweeps the settings of a server whose
// presence lease expired more than `stale_after` ago, and that lease's row; also settings of a
// server with no presence lease at all (one from before presence leases, or whose row a sweep
// removed first). Keys are read before the leases, and a server takes its lease before it
// publishes, so a live server's settings are never taken for a dead one's.
//
// Not thread-safe: call announce(), sweep_if_due() and withdraw() from one thread at a time.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "lease_keeper.h"
#include "provisioner/store.h"

namespace provisioner::server {

class ServerPresence {
  public:
    static constexpr const char* kLeasePrefix = "server:";
    using Log = std::function<void(const std::string&)>;

    struct PublishedSetting {
        const char* prefix;      // the key is prefix + server id
        bool withdrawn_at_stop;  // deleted by a clean stop (else only by a sweep)
    };
    // Every setting a server publishes under its id.
    static const std::vector<PublishedSetting>& published_settings();
    static std::string lease_name(const std::string& server) { return kLeasePrefix + server; }
    // How long after a server's presence lease expired its settings are swept: ten lease
    // times, and never under 10 minutes (a takeover and the owners' reading of its last rack
    // deliveries take a few lease times).
    static std::chrono::milliseconds stale_after(std::chrono::milliseconds lease_time);

    // All must outlive it.
    ServerPresence(LeaseKeeper& leases, Store& store, base::Clock& clock,
                   std::chrono::milliseconds stale_after, Log log);

    // At start, before anything is published: takes this server's presence lease.
    Status announce();
    // At most once a minute (by the monotonic clock): takes the presence lease again if it was
    // lost (a store out of reach for longer than stale_after), and sweeps. Errors are logged
    // and the sweep tried again a minute later.
    void sweep_if_due();
    // Sweeps now; the servers whose settings or presence row were removed, by id.
    Result<std::vector<std::string>> sweep();
    // At a clean stop, after the last publish: deletes this server's withdrawn_at_stop
    // settings.
    Status withdraw();

  private:
    LeaseKeeper& leases_;
    Store& store_;
    base::Clock& clock_;
    const std::chrono::milliseconds stale_after_;
    Log log_;
    std::optional<base::Clock::time_point> swept_at_;
};

}  // namespace provisioner::server
