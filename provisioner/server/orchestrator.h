// Deployments in motion: which hosts image what by which transport, the sender processes that
// serve them (`imaging serve` per image for delta, `imaging send` per deployment for multicast,
// `imaging seed` per deployment for BitTorrent, after `imaging torrent` made its .torrent), and
// the agents' hello / progress / result. Also the delta servers of the hot templates
// (hot_templates.h), which the Dom0 agents pre-copy from.
//
// Two sides. The API side (deploy, hello, progress, result, ...) runs on HTTP threads. The
// process side, tick(), runs on one long-lived thread (children get a parent-death signal tied
// to the thread that forked them): it starts, restarts and stops the children, each kept by a
// pxe::Supervisor, fails hosts past the deadline and writes progress to the store. Each sender
// holds its port (and a multicast sender its group) from a PortPool while it runs
// (port_pool.h): the lowest free one of its range, given back once its process is reaped.
//
// Locking contract. Thread-safe. mu_ guards the deployments, the senders' published state
// (pid, listening, port, secret), the port pools and the tracker's list; it is held only to read
// and change that memory, never across anything that can block: no fork/exec, wait or signal
// of a child, no TCP connect, no store access (read or write), no file I/O, no log line. What
// the store must learn is queued under mu_ (OrderedWrites, in the order decided) and applied
// after mu_ is released by the call that queued it, which returns once its writes are applied,
// so a caller sees the store as it answered. The process side works in three steps: decide
// under mu_ which children should run; start, poll, stop and probe them with mu_ released (the
// Supervisors are the process thread's own: no lock); publish what it saw under mu_ again,
// rechecking that the deployment it concerns still runs (one that ended meanwhile gets nothing).
// So a slow child spawn, a delta-server probe or a SQLite commit holds back no other call.
// Lock order: mu_, then OrderedWrites' queue lock; the store only without mu_.
//
// Time comes from the injected clock: the deployment timeout, the boot ticket lifetime, the
// children's restart backoff and stop grace, the progress flush interval and tick_age().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "config.h"
#include "delivery_board.h"
#include "foreign_deliveries.h"
#include "hot_template_lease.h"
#include "hot_templates.h"
#include "imaging/secret.h"
#include "imaging/torrent/tracker.h"
#include "lease_keeper.h"
#include "ordered_writes.h"
#include "peer_source.h"
#include "port_pool.h"
#include "provisioner/store.h"
#include "pxe/process.h"
#include "pxe/supervisor.h"

namespace provisioner::server {

class Orchestrator {
  public:
    using Log = std::function<void(const std::string&)>;
    // The store, config, launcher and clock must outlive it. pubkey_pem goes into every job.
    Orchestrator(Store& store, const ServerConfig& config, pxe::ProcessLauncher& launcher,
                 std::string pubkey_pem, Log log, base::Clock& clock = base::real_clock());
    ~Orchestrator();

    // Starts a deployment of image to hosts (each must be deployable and in no running
    // deployment); requested empty means auto. Hosts move to booting in one transaction.
    // conflict, and nothing recorded, when its sender's port range has no free port.
    Result<Deployment> deploy(const Image& image, const std::vector<Host>& hosts,
                              std::optional<Transport> requested);
    // The transport auto picks for n hosts.
    Transport auto_transport(std::size_t hosts) const;

    // What an image hello was made with (auth.h): a boot ticket or a deployment token names
    // its deployment; a Dom0 token names none.
    struct HelloCredential {
        enum class Kind { boot_ticket, deployment_token, dom0_token };
        Kind kind = Kind::dom0_token;
        DeploymentId deployment = 0;
    };
    // The answer to an agent's image hello (API.md): a job, wait, or none; refused (with
    // why, and an event for a reused ticket) when the credential is not good for this hello:
    // a ticket or token of another deployment than the host's running one, a ticket used
    // before (its host's part is no longer pending) or older than the ticket lifetime (by the
    // clock, from the deployment's start).
    struct HelloAnswer {
        nlohmann::json body;
        std::string refused;  // empty: answered with body
    };
    HelloAnswer hello(const Host& host, const HelloCredential& credential);
    // How long ago the last tick() finished (or the orchestrator was made, before the first):
    // /health reports a process loop that is stuck. Any thread; takes no lock.
    std::chrono::milliseconds tick_age() const;
    // What is wrong with the children, for /health: "" when none keeps dying, else each one
    // that died kChildDeathsUnhealthy times in a row soon after its start, with how it ended.
    // Any thread; never waits for the process side.
    std::string children_problem() const;
    // The running deployment host is part of, if any.
    std::optional<DeploymentId> deployment_of(HostId host);
    Status progress(HostId host, DeploymentId deployment, std::uint64_t done, std::uint64_t total);
    // What became of an agent's result. Proof of receipt (API.md): an ok result of a delta or
    // multicast deployment, with the job's sha256, marks the host imaged only once that
    // host's sender has confirmed delivering the image to it (the sender's delivery log,
    // read here first); until then it is held (held, with why, and an event), the host stays
    // imaging, and it becomes imaged when the confirmation comes, or failed at the
    // deployment's deadline ("no delivery confirmed by the sender"). Torrent has no sender
    // that confirms: its ok result is believed as it comes.
    struct ResultAnswer {
        bool held = false;
        std::string reason;  // held: why
    };
    Result<ResultAnswer> result(const Host& host, DeploymentId deployment, bool ok,
                                const std::string& error, const nlohmann::json& result);

    // Fails host's unfinished part of running deployment `deployment` with reason (its BMC
    // could not power or boot it: power_service.h), as an agent's failed result would; the
    // others go on. not_found when that part is not running or pending.
    Status fail_host(HostId host, DeploymentId deployment, const std::string& reason);

    // Replaces stored bytes_done/bytes_total with the live figures of a running deployment.
    void overlay_live(DeploymentId deployment, std::vector<DeploymentTarget>& targets);
    // The .torrent of a torrent deployment, once made.
    std::optional<std::string> torrent(DeploymentId deployment);

    // The delta server for template t's packed image, which runs while t is hot, and its
    // secret; nullopt until tick() has seen it accept a connection (after its start or a
    // restart), so that an agent is never sent to a server that does not listen yet. For a
    // Dom0 host of rack `rack`: its rack server's delta server of its copy of t when that
    // server is live and serves it (set_rack_template_sources(), or this server's own for its
    // racks: set_rack_templates()), else the serving server's as for any host.
    std::optional<TemplateDelta> template_delta(const Template& t, const std::string& rack = "");
    // The server's image signing key (PEM), as every job carries it.
    const std::string& pubkey_pem() const { return pubkey_pem_; }

    // The built-in tracker: each torrent deployment's info-hash is allowed while it runs and
    // forgotten when it ends, so the tracker serves only the server's own torrents.
    void set_tracker(std::shared_ptr<imaging::torrent::Tracker> tracker);

    // Ownership (lease_keeper.h): with leases set, each deployment made here holds its lease
    // while it runs, and tick() renews this server's leases and takes over the deployments of
    // servers whose leases expired (orchestrator_takeover.cc). Without, no lease is written
    // (one server alone). Set before the first tick and the first deploy.
    void set_leases(std::shared_ptr<LeaseKeeper> leases) { leases_ = std::move(leases); }
    // With it set, this server runs the hot templates' delta servers only while it holds
    // their lease, and otherwise answers template_delta() with the holder's (hot_template_
    // lease.h). Without, it serves them (one server alone). Set before the first tick.
    void set_hot_template_lease(std::shared_ptr<HotTemplateLease> lease) {
        hot_lease_ = std::move(lease);
    }
    // A rack server's image cache (rack_image_cache.h): the directory of its own copy of an
    // image, if it holds one; its delta servers serve that copy in place of Image::path (a
    // path on the importing server's disk). Called under mu_: must not block. Set before the
    // first deploy and tick.
    using ImageCopy = std::function<std::optional<std::filesystem::path>(const Image&)>;
    void set_image_copy(ImageCopy copy) { image_copy_ = std::move(copy); }
    // This server's delta servers of images that listen now, each with the key a peer fetches
    // the image with (receiver_key of its secret for ImagePeers::kReceiverId): image_peers.h.
    std::map<ImageId, PeerSource> image_sources();
    // Per-rack imaging (rack_images.h). A rack server runs a delta server of its copy of each
    // of these images (a running deployment another server owns has hosts in its racks); the
    // file I/O of their secrets is done here, before the lock. Any thread but the process one.
    void set_rack_images(const std::vector<Image>& images);
    // The owner's side: for each rack whose live rack server is another server, where that
    // server serves which image; a delta job of a host of such a rack names it (with a key
    // from its master), so the host images from its rack's server. Memory only.
    void set_rack_sources(std::map<std::string, std::map<ImageId, PeerSource>> sources);
    // Templates in the rack (issue 20, item 4; rack_templates.h). The rack server's side: a
    // delta server (a secret of its own each) of its copy of each of these hot templates, in
    // dir, for the Dom0 hosts of racks; those no longer named stop. File I/O done here, before
    // the lock. Any thread but the process one.
    struct RackTemplate {
        Template t;
        std::filesystem::path dir;
    };
    void set_rack_templates(const std::vector<RackTemplate>& copies, std::set<std::string> racks);
    // Those of them that accept connections now, by template (ImagePeers::publish_templates()).
    std::map<TemplateId, TemplateDelta> rack_template_servers();
    // Every server's side: for each rack whose live rack server is another server, where that
    // server serves its copies of the hot templates. Memory only.
    void set_rack_template_sources(std::map<std::string, std::map<TemplateId, TemplateDelta>> s);
    // Multicast in the rack (issue 20, item 4). The rack server's side: a multicast sender of
    // its copy for each of these deployments another server owns, for the unfinished hosts of
    // its racks (hosts), under a session secret and a receipt secret of its own; its delivery
    // log confirms each host as a delta server's does (foreign_deliveries()). It runs while one
    // of those hosts has no confirmed delivery (--min-receivers: how many). Senders no longer
    // named stop. File I/O done here,
    // before the lock. Any thread but the process one.
    struct RackMulticast {
        DeploymentId deployment = 0;
        Image image;
        std::set<HostId> hosts;
    };
    void set_rack_multicast(const std::vector<RackMulticast>& sessions);
    // Those of its rack multicast senders that run now, by deployment, with their secrets
    // (ImagePeers::publish_multicast() seals them for the owner).
    std::map<DeploymentId, MulticastSource> rack_multicast_sessions();
    // The owner's side: the racks whose live rack server is another server (foreign_racks),
    // and the multicast sessions those servers run of this server's deployments. A multicast
    // job of a host of such a rack names its rack's session (once, as delta's does), and this
    // server's own sender leaves those hosts out of its --min-receivers and starts only once a
    // host needs it. An image of a multicast or BitTorrent deployment with hosts in such a
    // rack gets a delta server here too, so that the rack server can fetch it (file I/O here,
    // before the lock). Any thread but the process one.
    void set_rack_multicast_sources(
        std::map<std::string, std::map<DeploymentId, MulticastSource>> sources,
        std::set<std::string> foreign_racks);
    // BitTorrent in the rack (issue 20, item 4). The owner's side: for each of its running
    // torrent deployments whose torrent is made, the torrent and the seed certificates of the
    // racks of its unfinished hosts that another server's live rack server serves
    // (set_rack_multicast_sources()'s foreign_racks), for ImagePeers::publish_torrents().
    std::map<DeploymentId, RackTorrentOffer> rack_torrent_offers();
    // The owner's tracker learns where hosts and rack servers' seeds are (hosts by their
    // inventory address and rack; each rack server's seed as a peer of its racks): the tracker's
    // rack lookup follows the store. Any thread.
    void set_tracker_racks(imaging::torrent::RackMap hosts, imaging::torrent::RackSeeds seeds);
    // The unfinished hosts' racks of this server's running torrent deployments (whose
    // addresses the tracker needs).
    std::set<std::string> torrent_racks();
    // The rack server's side: an `imaging seed` of its copy of each of these deployments'
    // images (another server owns them; their hosts in its racks are unfinished), with the
    // owner's torrent and the seed certificate of one of those racks, written before the lock
    // (the certificate under STATE/secrets, 0600, removed with the seed); those no longer named
    // stop. Any thread but the process one.
    struct RackTorrent {
        DeploymentId deployment = 0;
        Image image;
        std::set<HostId> hosts;       // its unfinished hosts in this server's racks
        std::set<std::string> racks;  // their racks, each with a certificate in offer
        RackTorrentOffer offer;
    };
    void set_rack_torrents(const std::vector<RackTorrent>& seeds);
    // Those of its rack seeds that run now, by deployment (ImagePeers::publish_torrent_seeds()).
    std::map<DeploymentId, RackTorrentSeed> rack_torrent_seeds();
    // Deliveries this server's delta servers confirmed to hosts of deployments another server
    // owns (a rack server's), for the owner to learn through the store: those of the running
    // deployments (the others are forgotten), whenever that changed (else nullopt).
    std::optional<std::vector<imaging::Delivery>> foreign_deliveries(
        const std::set<DeploymentId>& running);
    // Deliveries other servers confirmed (their foreign_deliveries()), taken in as this
    // server's own senders' are.
    // from: the server that confirmed them, named in the host's event.
    void absorb_peer_deliveries(const std::vector<imaging::Delivery>& deliveries,
                                const std::string& from = "");
    // Whether host's part of deployment `deployment` runs under another server (a store read):
    // an agent's call about it that reaches this server is asked to retry.
    bool running_elsewhere(DeploymentId deployment, HostId host);

    // The process side; see above. Call every ~200 ms, always from the same thread.
    void tick();
    // Stops every child (SIGTERM, then SIGKILL) and waits for them. The process thread.
    void stop_all();

    // A sender that died this many times in a row, each soon after its start, fails its
    // deployment's hosts; any child dying kChildDeathsUnhealthy times so makes /health 503.
    static constexpr int kMaxQuickFailures = 5;
    static constexpr int kChildDeathsUnhealthy = 3;

  private:
    struct Sender;
    struct Target;
    struct Active;
    struct ChildSpec;
    struct ChildReport;
    struct Child;
    // What a delta server serves: an image, or a template's packed image.
    struct DeltaSource {
        // rack_template: a rack server's copy of another server's template (set_rack_templates).
        enum class Kind { image, template_image, rack_template };
        Kind kind = Kind::image;
        std::int64_t id = 0;
        auto operator<=>(const DeltaSource&) const = default;
    };
    // A hot template whose packed image exists, as the catalog said before the lock was taken.
    struct HotTemplate {
        DeltaSource source;
        std::string ref;
        std::string image_dir;
    };
    using Secret = std::pair<imaging::Secret, std::filesystem::path>;

    // The API side's pieces; every *_locked runs under mu_ and only queues store writes.
    nlohmann::json job_locked(const Active& a, const Host& host, Target& t);
    std::shared_ptr<const OrderedWrites::Outcome> finish_target_locked(Active& a, Target& t,
                                                                       bool ok,
                                                                       const std::string& reason);
    void fail_unfinished_locked(Active& a, const std::string& reason);
    void finish_if_done_locked(Active& a);
    void fail_overdue_locked(Active& a, base::Clock::time_point now);
    void flush_progress_locked(Active& a, bool force);
    // The senders' confirmations, read with no lock held, then taken in under mu_: each marks
    // its host's part delivered, and finishes a part whose ok result was held.
    std::vector<imaging::Delivery> read_deliveries();
    // own: from this server's senders (a delivery for another server's deployment is kept in
    // foreign_); else from a peer's, for this server's deployments only.
    void absorb_deliveries_locked(const std::vector<imaging::Delivery>& deliveries, bool own = true,
                                  const std::string& from = "");
    void event_locked(const Host& host, std::string reason);
    bool delta_ready_locked(ImageId image);
    void log_locked(std::string line);
    // Applies the queued writes and log lines: after mu_ is released, never under it.
    void apply_writes() { writes_.apply(); }

    // Ownership (orchestrator_takeover.cc), on the process thread with no lock held: renews
    // the leases, stops driving the deployments whose lease another server took, and adopts
    // those whose owner's lease expired: the store's record, its targets as they stand, a
    // delta server of its own; the agents' next hello gets a job from it (a multicast or
    // BitTorrent deployment's unfinished hosts are finished by delta too).
    void takeover();
    void drop_lost(const std::vector<std::string>& lease_names);
    Status adopt(const LeaseRow& lease, DeploymentId id);
    // The first progress of a host since the takeover: an event (the takeover's time, as the
    // hosts see it, ends there).
    void resumed_locked(Active& a, Target& t);

    // The process side (orchestrator_tick.cc).
    // One decide / act / publish round; true when what it published changes what should run.
    bool tick_round(const std::optional<std::vector<HotTemplate>>& hot,
                    std::vector<std::unique_ptr<Sender>>& retired);
    std::vector<ChildSpec> decide_locked(const std::optional<std::vector<HotTemplate>>& hot,
                                         std::vector<std::uint64_t>& retiring);
    void decide_template_servers_locked(const std::vector<HotTemplate>& hot,
                                        std::vector<ChildSpec>& wanted);
    // The delta servers of kind that keep() keeps go into wanted; the others stop (with a line
    // "stopping NAME: WHY" where why is not empty).
    void keep_delta_servers_locked(DeltaSource::Kind kind,
                                   const std::function<bool(const DeltaSource&)>& keep,
                                   const std::string& why, std::vector<ChildSpec>& wanted);
    void retire_locked(std::unique_ptr<Sender> sender);
    // Starts, polls, stops and probes the children with no lock held. gone: the keys of
    // children reaped (or never started) that nobody wants any more.
    std::vector<ChildReport> act(const std::vector<ChildSpec>& wanted,
                                 const std::vector<std::uint64_t>& retiring,
                                 std::vector<std::uint64_t>& gone);
    bool publish_locked(std::vector<ChildReport>& reports, const std::vector<std::uint64_t>& gone,
                        std::vector<std::unique_ptr<Sender>>& retired);
    std::optional<std::vector<HotTemplate>> read_hot_templates();
    // The template servers that accept connections, as template_delta() gives them.
    std::map<TemplateId, TemplateDelta> listening_template_servers();
    // Writes a secret (make_secret) for each hot template whose delta server is not made yet,
    // into template_secrets_, and removes those of templates no longer hot. No lock held.
    void prepare_template_secrets(const std::optional<std::vector<HotTemplate>>& hot);

    // A sender holding a free port of its range, not started: the delta server of source, or
    // the sender a new deployment by transport needs (nullptr when delta and the image's
    // server runs already). conflict when the range has no free port.
    Result<std::unique_ptr<Sender>> new_delta_server_locked(DeltaSource source,
                                                            const std::string& name,
                                                            const std::string& image_path,
                                                            std::optional<Secret> secret);
    Result<std::unique_ptr<Sender>> new_sender_locked(const Image& image, Transport transport,
                                                      std::optional<Secret>& secret);
    std::string server_host() const;
    // The directory an image's delta server serves: the cache's copy, else Image::path.
    std::string image_dir_locked(const Image& image) const;
    // The address imaging children listen on: --dhcp-address (the provisioning network) when
    // set, else every address (the API's --listen may be a loopback or a management address).
    std::string bind_host() const;
    // A fresh secret written 0600 as STATE/secrets/NAME for a child's --secret-file. File I/O:
    // never under mu_.
    Result<Secret> make_secret(const std::string& name);
    // Where the sender whose secret is `secret` records its deliveries.
    std::filesystem::path delivery_log_for(const Secret& secret) const;

    Store& store_;
    std::shared_ptr<LeaseKeeper> leases_;          // set before the first tick; then read only
    std::shared_ptr<HotTemplateLease> hot_lease_;  // the same
    ImageCopy image_copy_;                         // the same
    std::set<ImageId> rack_images_;                // guarded by mu_
    std::map<std::string, std::map<ImageId, PeerSource>> rack_sources_;  // guarded by mu_
    // set_rack_templates(): by template, the directory of its copy; and this server's racks.
    std::map<TemplateId, std::filesystem::path> rack_templates_;  // guarded by mu_
    std::set<std::string> template_racks_;                        // guarded by mu_
    std::map<std::string, std::map<TemplateId, TemplateDelta>> rack_template_sources_;  // mu_
    ForeignDeliveries foreign_;     // guarded by mu_: see foreign_deliveries()
    bool foreign_changed_ = false;  // guarded by mu_
    std::atomic<bool> serving_hot_{true};     // written by the process thread: hot_lease_->serve()
    base::Clock::time_point next_takeover_scan_{};  // the process thread's
    const ServerConfig& config_;
    pxe::ProcessLauncher& launcher_;
    const std::string pubkey_pem_;
    Log log_;
    base::Clock& clock_;
    OrderedWrites writes_;
    DeliveryBoard deliveries_;  // its own lock; never used under mu_

    std::mutex mu_;
    std::shared_ptr<imaging::torrent::Tracker> tracker_;  // guarded by mu_
    // clock_ nanoseconds at the end of the last tick(), or when constructed.
    std::atomic<std::int64_t> last_tick_done_;
    mutable std::mutex health_mu_;  // guards children_problem_ alone
    std::string children_problem_;
    std::atomic<std::uint64_t> next_secret_{0};
    std::uint64_t next_child_ = 1;  // guarded by mu_: each sender's and job's key in children_
    // Before the senders and retiring_, which hold leases of them.
    PortPool tcp_ports_;  // delta servers and seeds
    PortPool udp_ports_;  // multicast sessions: the port's place in its range picks the group
    std::map<DeploymentId, std::unique_ptr<Active>> active_;
    std::map<HostId, DeploymentId> host_deployment_;
    std::set<HostId> reserved_hosts_;  // a deploy() is recording them in the store
    // Images whose delta deployment a deploy() is recording: their server is kept meanwhile.
    std::map<ImageId, int> deploying_images_;
    std::map<DeltaSource, std::unique_ptr<Sender>> delta_servers_;
    // Senders no longer wanted whose child has not been reaped yet: they keep its port.
    std::map<std::uint64_t, std::unique_ptr<Sender>> retiring_;
    std::set<DeltaSource> portless_templates_;  // hot, but no free port: logged once
    // The rack server's multicast senders, by deployment (set_rack_multicast()).
    struct RackSession;
    std::map<DeploymentId, RackSession> rack_multicast_;  // guarded by mu_
    // The rack server's seeds of its copies, by deployment (set_rack_torrents()).
    struct RackSeed;
    std::map<DeploymentId, RackSeed> rack_torrents_;  // guarded by mu_
    // The owner's view of other rack servers (set_rack_multicast_sources()).
    std::map<std::string, std::map<DeploymentId, MulticastSource>> rack_multicast_sources_;  // mu_
    std::set<std::string> foreign_racks_;  // guarded by mu_
    // The session of its rack's server that t's host (of a multicast deployment) goes to
    // now, if any: never twice, never the dead owner's.
    const MulticastSource* rack_session_locked(const Active& a, const Target& t) const;
    // Whether an unfinished host of a is in a rack whose live rack server is another server.
    bool has_foreign_rack_hosts_locked(const Active& a) const;
    // The unfinished hosts of a multicast deployment this server's own sender is for.
    std::size_t own_receivers_locked(const Active& a) const;
    std::vector<std::string> multicast_argv_locked(const std::string& image_dir,
                                                   const std::string& group, const Sender& s,
                                                   std::size_t receivers) const;
    // Starts a delta server (a fresh secret each, written before the lock) for each image
    // that still_wanted_locked() still wants once the lock is taken.
    void start_image_servers(const std::vector<Image>& images, const std::string& label,
                             const std::function<bool(const Image&)>& still_wanted_locked);
    // Written before the lock for template servers still to be made, which take them.
    std::map<DeltaSource, Secret> template_secrets_;

    // The process thread's own, no lock: one Supervisor per child, by key.
    std::map<std::uint64_t, Child> children_;
};

}  // namespace provisioner::server
