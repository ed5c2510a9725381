// Deployments in motion: which hosts image what by which transport, the sender processes that
// serve them (`imaging serve` per image for delta, `imaging send` per deployment for multicast,
// `imaging seed` per deployment for BitTorrent), and the agents' hello / progress / result.
// Also the delta servers of the hot templates (hot_templates.h), which the Dom0 agents
// pre-copy from.
//
// Two sides. The API side (hello, progress, result, deploy, ...) runs on HTTP threads and is
// quick: it changes memory and the store. The process side, tick(), runs on one long-lived
// thread (children get a parent-death signal tied to the thread that forked them): it starts,
// restarts and stops senders, fails hosts past the deadline and writes progress to the store.
// Each sender holds its port (and a multicast sender its group) from a PortPool while it runs
// (port_pool.h): the lowest free one of its range, given back once its process is reaped.
// Thread-safe; lock order: Orchestrator, then Store.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config.h"
#include "imaging/secret.h"
#include "imaging/torrent/tracker.h"
#include "port_pool.h"
#include "provisioner/store.h"
#include "pxe/process.h"

namespace provisioner::server {

class Orchestrator {
  public:
    using Log = std::function<void(const std::string&)>;
    // The store, config and launcher must outlive it. pubkey_pem goes into every job.
    Orchestrator(Store& store, const ServerConfig& config, pxe::ProcessLauncher& launcher,
                 std::string pubkey_pem, Log log);
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
    // before (its host's part is no longer pending) or older than the ticket lifetime.
    struct HelloAnswer {
        nlohmann::json body;
        std::string refused;  // empty: answered with body
    };
    HelloAnswer hello(const Host& host, const HelloCredential& credential);
    // How long ago the last tick() finished (or the orchestrator was made, before the first):
    // /health reports a process loop that is stuck. Any thread; takes no lock.
    std::chrono::milliseconds tick_age() const;
    // The running deployment host is part of, if any.
    std::optional<DeploymentId> deployment_of(HostId host);
    Status progress(HostId host, DeploymentId deployment, std::uint64_t done,
                    std::uint64_t total);
    Status result(const Host& host, DeploymentId deployment, bool ok, const std::string& error,
                  const nlohmann::json& result);

    // Replaces stored bytes_done/bytes_total with the live figures of a running deployment.
    void overlay_live(DeploymentId deployment, std::vector<DeploymentTarget>& targets);
    // The .torrent of a torrent deployment, once made.
    std::optional<std::string> torrent(DeploymentId deployment);

    // "ADDR:PORT" of the delta server for template t's packed image, which runs while t is hot;
    // nullopt until tick() has seen it accept a connection (after its start or a restart),
    // so that an agent is never sent to a server that does not listen yet.
    std::optional<std::string> template_delta(const Template& t);
    // The server's image signing key (PEM), as every job carries it.
    const std::string& pubkey_pem() const { return pubkey_pem_; }

    // The built-in tracker: each torrent deployment's info-hash is allowed while it runs and
    // forgotten when it ends, so the tracker serves only the server's own torrents.
    void set_tracker(std::shared_ptr<imaging::torrent::Tracker> tracker);

    // The process side; see above. Call every ~200 ms.
    void tick();
    // Stops every sender (SIGTERM, then SIGKILL) and waits for them.
    void stop_all();

  private:
    struct Sender;
    struct Target;
    struct Active;
    struct Stopping {  // a child sent SIGTERM, not yet reaped
        int pid = 0;
        std::chrono::steady_clock::time_point term_at;
        PortLease port;  // its port, given back once it is reaped
    };
    // What a delta server serves: an image, or a template's packed image.
    struct DeltaSource {
        enum class Kind { image, template_image };
        Kind kind = Kind::image;
        std::int64_t id = 0;
        auto operator<=>(const DeltaSource&) const = default;
    };

    nlohmann::json job_locked(const Active& a, const Host& host);
    Status finish_target_locked(Active& a, Target& t, bool ok, const std::string& reason);
    void finish_if_done_locked(Active& a);
    void tick_sender_locked(Sender& s, Active* a);
    bool prepare_torrent_locked(Active& a);
    void fail_overdue_locked(Active& a, std::chrono::steady_clock::time_point now);
    void flush_progress_locked(Active& a, bool force);
    bool delta_ready_locked(ImageId image);
    void tick_template_servers_locked(std::chrono::steady_clock::time_point now);
    void tick_delta_server_locked(Sender& server);
    void stop_sender_locked(Sender& s, std::chrono::steady_clock::time_point now);
    // A sender holding a free port of its range, not started: the delta server of source, or
    // the sender a new deployment by transport needs (nullptr when delta and the image's
    // server runs already). conflict when the range has no free port.
    Result<std::unique_ptr<Sender>> new_delta_server_locked(DeltaSource source,
                                                            const std::string& name,
                                                            const std::string& image_path);
    Result<std::unique_ptr<Sender>> new_sender_locked(const Image& image, Transport transport);
    std::string server_host() const;
    // The address imaging children listen on: --dhcp-address (the provisioning network) when
    // set, else every address (the API's --listen may be a loopback or a management address).
    std::string bind_host() const;
    // A fresh secret written 0600 as STATE/secrets/NAME for a child's --secret-file.
    Result<std::pair<imaging::Secret, std::filesystem::path>> make_secret_locked(const std::string& name);

    Store& store_;
    const ServerConfig& config_;
    pxe::ProcessLauncher& launcher_;
    const std::string pubkey_pem_;
    Log log_;
    std::shared_ptr<imaging::torrent::Tracker> tracker_;  // guarded by mu_

    std::mutex mu_;
    // steady_clock nanoseconds at the end of the last tick(), or when constructed.
    std::atomic<std::int64_t> last_tick_done_;
    // Before the senders and stopping_, which hold leases of them.
    PortPool tcp_ports_;  // delta servers and seeds
    PortPool udp_ports_;  // multicast sessions: the port's place in its range picks the group
    std::map<DeploymentId, std::unique_ptr<Active>> active_;
    std::map<HostId, DeploymentId> host_deployment_;
    std::map<DeltaSource, std::unique_ptr<Sender>> delta_servers_;
    std::vector<Stopping> stopping_;
    std::set<DeltaSource> portless_templates_;  // hot, but no free port: logged once
};

}  // namespace provisioner::server
