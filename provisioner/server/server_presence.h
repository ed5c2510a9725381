// A server's presence in the shared store, and what it published there under its own id.
// Server ids are new at every start (make_server_id), so each start publishes settings of its
// own ("image-delta-servers:ID", "rack-multicast:ID", "rack-deliveries:ID": image_peers.h)
// and holds rack leases of its own ("rack-server:R", "dhcp:R": rack_dhcp.h); without this
// they stayed behind after the server was gone, one set per restart.
//
// Every server holds the lease "server:ID" from its start (LeaseKeeper renews it with its
// others), so the others can tell when it went away: its lease expired. A clean stop deletes
// what points peers and hosts at its listeners (its image delta servers, its rack multicast
// sessions), which are gone; its confirmed rack deliveries stay for their owners to read, and
// its presence lease is left to expire. A failed start (a wrong --listen) leaves at once:
// everything it published, then its presence row.
//
// The sweep's rule: only what a server that held a presence lease, and let it expire more
// than `stale_after` ago, left is swept: its settings, its rack leases, then its presence
// row (last, so that a sweep that failed half-way is finished by the next). A server with no
// presence row at all is never swept: an older server of a rolling upgrade holds none while
// it runs, and looks the same as one that stopped. (What such servers left stays until
// removed by hand; a failed start releases its row only after its settings are gone, and
// announce() comes before anything is published, so a row-less key is never a new server's.)
// The deployment, site apply and hot-template leases are not swept: another server takes
// them over when they expire. Each sweep also deletes the Dom0 token generations of hosts no
// longer in the store (Authenticator: a removal takes its host's along; these are an older
// server's leftovers).
//
// Not thread-safe: call announce(), sweep_if_due(), withdraw() and leave() from one thread
// at a time.
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
    // The prefixes of the leases named by rack ("rack-server:", "dhcp:") that a server holds
    // while it runs, whose rows a sweep removes with its presence row when nobody took them.
    static const std::vector<std::string>& rack_lease_prefixes();
    static std::string lease_name(const std::string& server) { return kLeasePrefix + server; }
    // How long after a server's presence lease expired its settings are swept: ten lease
    // times, and never under 10 minutes (a takeover and the owners' reading of its last rack
    // deliveries take a few lease times).
    static std::chrono::milliseconds stale_after(std::chrono::milliseconds lease_time);

    // All must outlive it.
    ServerPresence(LeaseKeeper& leases, Store& store, base::Clock& clock,
                   std::chrono::milliseconds stale_after, Log log);
    // A server that announced and never reached serving() leaves (a failed start).
    ~ServerPresence();
    ServerPresence(const ServerPresence&) = delete;
    ServerPresence& operator=(const ServerPresence&) = delete;

    // At start, before anything is published: takes this server's presence lease.
    Status announce();
    // Once the server serves (listens): from here on a stop leaves the presence lease to
    // expire, for its rack deliveries' sake, rather than leave().
    void serving() { serving_ = true; }
    // At most once a minute (by the monotonic clock): takes the presence lease again if it was
    // lost (a store out of reach for longer than stale_after), and sweeps. Errors are logged
    // and the sweep tried again a minute later.
    void sweep_if_due();
    // Sweeps now; the servers whose settings or presence row were removed, by id.
    Result<std::vector<std::string>> sweep();
    // At a clean stop, after the last publish: deletes this server's withdrawn_at_stop
    // settings.
    Status withdraw();
    // At a failed start: deletes every setting this server published, then its presence row
    // (kept, to expire and be swept, when a delete fails). Logs what failed.
    Status leave();

  private:
    LeaseKeeper& leases_;
    Store& store_;
    base::Clock& clock_;
    const std::chrono::milliseconds stale_after_;
    Log log_;
    std::optional<base::Clock::time_point> swept_at_;
    bool announced_ = false;
    bool serving_ = false;
};

}  // namespace provisioner::server
