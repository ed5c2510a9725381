#include "orchestrator.h"

#include <algorithm>
#include <csignal>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "auth.h"
#include "hot_templates.h"
#include "imaging/http/client.h"
#include "imaging/torrent/image_torrent.h"
#include "template_image.h"

namespace provisioner::server {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::int64_t steady_nanoseconds() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               SteadyClock::now().time_since_epoch())
        .count();
}

constexpr auto kRestartDelay = std::chrono::seconds(2);
constexpr int kMaxQuickFailures = 5;  // a sender failing this often in a row fails its hosts
constexpr auto kStopGrace = std::chrono::seconds(5);
constexpr auto kProgressFlush = std::chrono::seconds(5);
// Port ranges, each from its base option: delta servers of images from delta_port, of
// templates from delta_port + kTemplatePortOffset; multicast sessions from multicast_port, the
// n-th (from 0) on group prefix.(n + 1); seeds from torrent_port.
constexpr int kDeltaPorts = 1000;
constexpr int kTemplatePortOffset = 2000;
constexpr int kTemplatePorts = 1000;
constexpr int kMulticastSessions = 250;
constexpr int kTorrentPorts = 100;

// `imaging serve` listens once its signature cache is ready: a connect says it is.
bool accepts_connections(const std::string& host, std::uint16_t port) {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket socket(ioc);
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(host == "0.0.0.0" ? "127.0.0.1" : host, ec);
    if (ec) return false;
    socket.connect({address, port}, ec);
    return !ec;
}

std::string describe_bytes(std::uint64_t bytes) {
    std::ostringstream out;
    out.precision(1);
    out << std::fixed << double(bytes) / (1 << 20) << " MiB";
    return out.str();
}

}  // namespace

// A child process serving one deployment (multicast, torrent) or one image (delta).
struct Orchestrator::Sender {
    std::string name;  // in log lines: "delta server for dom0@2"
    std::vector<std::string> argv;
    std::optional<int> pid;
    SteadyClock::time_point started_at{};
    SteadyClock::time_point restart_at{};
    int quick_failures = 0;
    std::string last_exit;
    bool listening = false;  // a delta server: accepted a connection since it started
    PortLease port;          // it listens on (seed, delta server) or sends to (multicast)
    // Authenticates its peers (--secret-file): a delta server of an image, shared by every
    // deployment of that image, has its own, handed in each of their jobs; a multicast sender
    // has its deployment's. The file lives as long as the sender.
    std::optional<imaging::Secret> secret;
    std::filesystem::path secret_file;
    ~Sender() {
        std::error_code ec;
        if (!secret_file.empty()) std::filesystem::remove(secret_file, ec);
    }
};

struct Orchestrator::Target {
    Host host;
    TargetState state = TargetState::pending;
    std::uint64_t done = 0;
    std::uint64_t total = 0;
    bool dirty = false;
    SteadyClock::time_point flushed_at{};
};

struct Orchestrator::Active {
    Deployment record;
    Image image;
    std::map<HostId, Target> targets;
    SteadyClock::time_point started_at = SteadyClock::now();
    std::unique_ptr<Sender> sender;  // multicast and torrent; delta uses delta_servers_
    std::string group;               // multicast
    std::optional<std::string> torrent;
    std::optional<int> torrent_maker;  // `imaging torrent` hashing the image, reaped by tick
    bool torrent_failed = false;

    std::size_t unfinished() const {
        std::size_t n = 0;
        for (const auto& [_, t] : targets)
            n += t.state == TargetState::pending || t.state == TargetState::running;
        return n;
    }
};

Orchestrator::Orchestrator(Store& store, const ServerConfig& config,
                           pxe::ProcessLauncher& launcher, std::string pubkey_pem, Log log)
    : store_(store),
      config_(config),
      launcher_(launcher),
      pubkey_pem_(std::move(pubkey_pem)),
      log_(std::move(log)) {
    last_tick_done_ = steady_nanoseconds();
}

Orchestrator::~Orchestrator() {
    stop_all();
}

Transport Orchestrator::auto_transport(std::size_t hosts) const {
    if (hosts < config_.auto_threshold) return Transport::delta;
    // Without an interface to multicast on, the hosts share the image among themselves: the
    // super-seed uploads about one copy, where delta would send one per host.
    return config_.multicast_interface.empty() ? Transport::torrent : Transport::multicast;
}

std::optional<std::string> Orchestrator::template_delta(const Template& t) {
    const DeltaSource source{DeltaSource::Kind::template_image, t.id};
    std::lock_guard lock(mu_);
    auto it = delta_servers_.find(source);
    if (it == delta_servers_.end() || !it->second->listening) return std::nullopt;
    return server_host() + ":" + std::to_string(it->second->port.number());
}

void Orchestrator::set_tracker(std::shared_ptr<imaging::torrent::Tracker> tracker) {
    std::lock_guard lock(mu_);
    tracker_ = std::move(tracker);
}

std::string Orchestrator::bind_host() const {
    return config_.dhcp_address.empty() ? "0.0.0.0" : config_.dhcp_address;
}

Result<std::pair<imaging::Secret, std::filesystem::path>> Orchestrator::make_secret_locked(
    const std::string& name) {
    auto secret = imaging::random_secret();
    if (!secret) return Status::error(Code::storage, secret.status().message());
    std::filesystem::path dir = config_.state_dir / "secrets";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    std::filesystem::path file = dir / name;
    if (auto s = imaging::write_secret_file(file, *secret); !s) return Status::error(Code::storage, s.message());
    return std::pair{*secret, file};
}

std::string Orchestrator::server_host() const {
    auto url = imaging::http::parse_http_url(config_.public_url);
    return url ? url->host : "127.0.0.1";
}

Result<Deployment> Orchestrator::deploy(const Image& image, const std::vector<Host>& hosts,
                                        std::optional<Transport> requested) {
    if (hosts.empty()) return Status::error(Code::invalid_argument, "no hosts to deploy to");
    Transport transport = requested.value_or(auto_transport(hosts.size()));
    if (transport == Transport::multicast && config_.multicast_interface.empty())
        return Status::error(Code::invalid_argument,
                             "multicast needs the server's --multicast-interface (or "
                             "--dhcp-interface)");
    std::lock_guard lock(mu_);
    for (const Host& h : hosts) {
        if (host_deployment_.contains(h.id))
            return Status::error(Code::conflict,
                                 "host " + h.name + " is in running deployment " +
                                     std::to_string(host_deployment_[h.id]));
        if (!is_deployable(h.state))
            return Status::error(Code::illegal_transition,
                                 "host " + h.name + " is " + to_string(h.state) +
                                     ", not deployable (enrolled, imaged, ready or failed)");
    }
    auto sender = new_sender_locked(image, transport);
    if (!sender) return sender.status();
    std::vector<HostId> ids;
    for (const Host& h : hosts) ids.push_back(h.id);
    Deployment created;
    Status s = store_.transaction([&]() -> Status {
        auto d = store_.create_deployment(image.id, transport, ids);
        if (!d) return d.status();
        created = *d;
        std::string reason = "deployment " + std::to_string(d->id) + ": " + image.name + "@" +
                             image.version + " by " + to_string(transport);
        for (HostId id : ids)
            if (auto e = store_.transition(id, HostState::booting, reason); !e) return e.status();
        return Status::ok();
    });
    if (!s) return s;

    auto a = std::make_unique<Active>();
    a->record = created;
    a->image = image;
    for (const Host& h : hosts) {
        Target t;
        t.host = h;
        t.total = image.stored_size;
        a->targets.emplace(h.id, std::move(t));
        host_deployment_[h.id] = created.id;
    }
    switch (transport) {
    case Transport::delta:
        if (*sender) delta_servers_.emplace(DeltaSource{DeltaSource::Kind::image, image.id},
                                            std::move(*sender));
        break;
    case Transport::multicast:
        a->sender = std::move(*sender);
        a->sender->name = "multicast sender of deployment " + std::to_string(created.id);
        if (auto secret = make_secret_locked("deployment-" + std::to_string(created.id)); secret)
            std::tie(a->sender->secret, a->sender->secret_file) = *secret;
        else
            log_("deployment " + std::to_string(created.id) +
                 ": no secret for its multicast session, it runs unauthenticated: " +
                 secret.status().message());
        a->group = config_.multicast_group_prefix + "." +
                   std::to_string(a->sender->port.number() - config_.multicast_port + 1);
        break;  // argv is made at each start: --min-receivers follows the hosts left
    case Transport::torrent:
        a->sender = std::move(*sender);
        a->sender->name = "seed of deployment " + std::to_string(created.id);
        break;  // argv once the torrent is made (on the process thread)
    }
    log_("deployment " + std::to_string(created.id) + ": " + image.name + "@" + image.version +
         " to " + std::to_string(hosts.size()) + " host(s) by " + to_string(transport));
    active_.emplace(created.id, std::move(a));
    return created;
}

Result<std::unique_ptr<Orchestrator::Sender>> Orchestrator::new_delta_server_locked(
    DeltaSource source, const std::string& name, const std::string& image_path) {
    const PortRange range =
        source.kind == DeltaSource::Kind::image
            ? PortRange{config_.delta_port, kDeltaPorts}
            : PortRange{config_.delta_port + kTemplatePortOffset, kTemplatePorts};
    auto port = tcp_ports_.acquire(range);
    if (!port) return port.status().context("no free port for the " + name);
    auto server = std::make_unique<Sender>();
    server->name = name;
    server->port = std::move(*port);
    server->argv = {config_.imaging_binary.string(), "serve", "--image", image_path, "--listen",
                    bind_host() + ":" + std::to_string(server->port.number()), "--rate-limit",
                    std::to_string(config_.delta_rate_limit)};
    // Template servers are asked by Dom0 agents (template_delta), which carry no secret yet.
    if (source.kind == DeltaSource::Kind::image) {
        auto secret = make_secret_locked("delta-image-" + std::to_string(source.id));
        if (!secret) return secret.status().context("no secret for the " + name);
        std::tie(server->secret, server->secret_file) = *secret;
        server->argv.insert(server->argv.end(), {"--secret-file", server->secret_file.string()});
    }
    return server;
}

Result<std::unique_ptr<Orchestrator::Sender>> Orchestrator::new_sender_locked(
    const Image& image, Transport transport) {
    if (transport == Transport::delta) {
        if (delta_servers_.contains({DeltaSource::Kind::image, image.id}))
            return std::unique_ptr<Sender>();
        return new_delta_server_locked({DeltaSource::Kind::image, image.id},
                                       "delta server for " + image.name + "@" + image.version,
                                       image.path);
    }
    const bool multicast = transport == Transport::multicast;
    auto port = multicast ? udp_ports_.acquire({config_.multicast_port, kMulticastSessions})
                          : tcp_ports_.acquire({config_.torrent_port, kTorrentPorts});
    if (!port)
        return port.status().context(multicast ? "no free multicast session (group and port)"
                                               : "no free port for a seed");
    auto sender = std::make_unique<Sender>();
    sender->port = std::move(*port);
    return sender;
}

bool Orchestrator::delta_ready_locked(ImageId image) {
    const DeltaSource source{DeltaSource::Kind::image, image};
    auto it = delta_servers_.find(source);
    return it != delta_servers_.end() && it->second->pid && it->second->listening;
}

json Orchestrator::job_locked(const Active& a, const Host& host) {
    json job = {{"deployment", a.record.id},
                {"transport", to_string(a.record.transport)},
                {"image",
                 {{"id", a.image.id},
                  {"name", a.image.name},
                  {"version", a.image.version},
                  {"raw_size", a.image.raw_size},
                  {"stored_size", a.image.stored_size},
                  {"image_sha256", a.image.image_sha256}}},
                {"pubkey", pubkey_pem_},
                {"disk", ""},
                {"host", host.name}};
    switch (a.record.transport) {
    case Transport::delta: {
        // hello() asks for a job only once the image's server listens: it is there.
        const Sender& server = *delta_servers_.at({DeltaSource::Kind::image, a.image.id});
        job["delta"] = {{"from", server_host() + ":" + std::to_string(server.port.number())}};
        // Cleartext on the LAN until the agent's channel is TLS.
        if (server.secret) job["secret"] = imaging::secret_to_hex(*server.secret);
        break;
    }
    case Transport::multicast:
        job["multicast"] = {{"group", a.group}, {"port", a.sender->port.number()}};
        if (a.sender->secret) job["secret"] = imaging::secret_to_hex(*a.sender->secret);
        break;
    case Transport::torrent:
        job["torrent"] = {{"url", config_.boot_url + "/torrents/" +
                                      std::to_string(a.record.id) + ".torrent"}};
        break;
    }
    return {{"action", "image"}, {"job", job}};
}

std::optional<DeploymentId> Orchestrator::deployment_of(HostId host) {
    std::lock_guard lock(mu_);
    auto d = host_deployment_.find(host);
    if (d == host_deployment_.end()) return std::nullopt;
    return d->second;
}

Orchestrator::HelloAnswer Orchestrator::hello(const Host& host, const HelloCredential& credential) {
    using Kind = HelloCredential::Kind;
    std::lock_guard lock(mu_);
    auto d = host_deployment_.find(host.id);
    const bool named = credential.kind != Kind::dom0_token;
    if (named && (d == host_deployment_.end() || d->second != credential.deployment))
        return {{}, "deployment " + std::to_string(credential.deployment) +
                        " is over for this host: its ticket and token are no longer good"};
    if (d == host_deployment_.end())
        return {{{"action", "none"}, {"reason", "no deployment for this host"}}, ""};
    Active& a = *active_.at(d->second);
    Target& t = a.targets.at(host.id);
    if (credential.kind == Kind::boot_ticket) {
        if (t.state != TargetState::pending) {
            // The real host or someone else has used it: either way this hello is not the
            // first, and the operator should know.
            Event e;
            e.time = store_.now();
            e.host = host.id;
            e.mac = host.mac.str();
            e.reason = "boot ticket of deployment " + std::to_string(a.record.id) +
                       " used again (someone else may hold it); refused";
            if (auto logged = store_.log_event(e); !logged) log_(logged.status().message());
            // Whoever said hello first holds the job and a deployment token, and the job names
            // the image's sha256: it could report a success without receiving a byte. Two
            // hellos on one ticket mean one of them is not the host, so that part fails.
            if (t.state == TargetState::running) {
                finish_target_locked(a, t, false,
                                     "its boot ticket was used twice: another machine may hold "
                                     "this host's job; deploy it again");
                finish_if_done_locked(a);
            }
            return {{}, "this boot ticket has been used: a ticket is good for one hello"};
        }
        auto age = std::chrono::milliseconds(store_.now() - a.record.created_at);
        if (age > config_.boot_ticket_lifetime)
            return {{}, "this boot ticket has expired (" +
                            std::to_string(config_.boot_ticket_lifetime.count()) +
                            " s after its deployment started)"};
    }
    if (t.state != TargetState::pending && t.state != TargetState::running)
        return {{{"action", "none"}, {"reason", "this host's part of the deployment is over"}}, ""};
    bool ready = true;
    switch (a.record.transport) {
    case Transport::delta: ready = delta_ready_locked(a.image.id); break;
    case Transport::multicast: ready = a.sender->pid.has_value(); break;
    case Transport::torrent: ready = a.torrent.has_value() && a.sender->pid.has_value(); break;
    }
    if (!ready) return {{{"action", "wait"}, {"retry_after_ms", 1000}}, ""};
    if (t.state == TargetState::pending) {
        auto e = store_.transition(host.id, HostState::imaging,
                                   "agent hello, deployment " + std::to_string(a.record.id));
        if (!e) {
            log_("deployment " + std::to_string(a.record.id) + ": " + e.status().message());
            return {{{"action", "none"}, {"reason", e.status().message()}}, ""};
        }
        t.state = TargetState::running;
        DeploymentTarget row;
        row.deployment = a.record.id;
        row.host = host.id;
        row.state = TargetState::running;
        row.transport = a.record.transport;
        row.bytes_total = t.total;
        row.started_at = store_.now();
        if (Status s = store_.update_target(row); !s) log_(s.message());
    }
    return {job_locked(a, host), ""};
}

Status Orchestrator::progress(HostId host, DeploymentId deployment, std::uint64_t done,
                              std::uint64_t total) {
    std::lock_guard lock(mu_);
    auto it = active_.find(deployment);
    if (it == active_.end() || !it->second->targets.contains(host))
        return Status::error(Code::not_found, "no running deployment " +
                                                  std::to_string(deployment) + " for this host");
    Target& t = it->second->targets.at(host);
    if (t.state != TargetState::running)
        return Status::error(Code::illegal_transition, "this host is not imaging");
    t.done = done;
    if (total) t.total = total;
    t.dirty = true;
    return Status::ok();
}

Status Orchestrator::result(const Host& host, DeploymentId deployment, bool ok,
                            const std::string& error, const json& result) {
    std::lock_guard lock(mu_);
    auto it = active_.find(deployment);
    if (it == active_.end() || !it->second->targets.contains(host.id))
        return Status::error(Code::not_found, "no running deployment " +
                                                  std::to_string(deployment) + " for this host");
    Active& a = *it->second;
    Target& t = a.targets.at(host.id);
    if (t.state != TargetState::running)
        return Status::error(Code::illegal_transition,
                             "this host's part of deployment " + std::to_string(deployment) +
                                 " is " + to_string(t.state) + ", not running");
    std::string reason;
    if (ok) {
        // The agent checked every chunk against the manifest it received; only this comparison
        // says that manifest was the one the job named.
        auto sha = result.find("sha256");
        std::string reported = sha != result.end() && sha->is_string() ? sha->get<std::string>() : "";
        if (reported != a.image.image_sha256) {
            reason = "imaging refused: the host reports an image with sha256 " +
                     (reported.empty() ? std::string("(none)") : reported.substr(0, 64)) +
                     ", the deployment's image " + a.image.name + "@" + a.image.version +
                     " has " + a.image.image_sha256;
            Status failed = finish_target_locked(a, t, false, reason);
            finish_if_done_locked(a);
            if (!failed) return failed;
            return Status::error(Code::conflict, reason);
        }
        auto number = [&](const char* key) {
            auto it = result.find(key);
            return it != result.end() && it->is_number() ? it->get<double>() : 0.0;
        };
        auto bytes = std::uint64_t(std::max(0.0, number("bytes_received")));
        double seconds = number("seconds");
        std::ostringstream out;
        out.precision(1);
        out << std::fixed << "imaged " << a.image.name << "@" << a.image.version << " by "
            << to_string(a.record.transport) << ": " << describe_bytes(bytes) << " in "
            << seconds << " s, sha256 verified";
        reason = out.str();
        t.done = t.total;
    } else {
        reason = "imaging failed: " + (error.empty() ? std::string("no reason given") : error);
    }
    Status s = finish_target_locked(a, t, ok, reason);
    finish_if_done_locked(a);
    return s;
}

Status Orchestrator::finish_target_locked(Active& a, Target& t, bool ok,
                                          const std::string& reason) {
    t.state = ok ? TargetState::succeeded : TargetState::failed;
    Status s = store_.transaction([&]() -> Status {
        auto host = store_.get_host(t.host.id);
        if (!host) return host.status();
        if (ok) {
            host->image = a.image.id;
            if (Status u = store_.update_host(*host); !u) return u;
            // The system just imaged has this deployment's Dom0 token; the one it replaced
            // is refused from now on.
            if (Status g = Authenticator::set_dom0_generation(store_, host->id, a.record.id); !g)
                return g;
        }
        if (host->state == HostState::booting || host->state == HostState::imaging) {
            HostState to = ok ? HostState::imaged : HostState::failed;
            if (auto e = store_.transition(t.host.id, to, reason); !e) return e.status();
        }
        DeploymentTarget row;
        row.deployment = a.record.id;
        row.host = t.host.id;
        row.state = t.state;
        row.transport = a.record.transport;
        row.bytes_done = t.done;
        row.bytes_total = t.total;
        row.finished_at = store_.now();
        if (!ok) row.error = reason;
        auto stored = store_.list_targets(a.record.id);
        if (stored)
            for (const auto& r : *stored)
                if (r.host == t.host.id) row.started_at = r.started_at;
        return store_.update_target(row);
    });
    log_("deployment " + std::to_string(a.record.id) + ": " + t.host.name + ": " + reason);
    host_deployment_.erase(t.host.id);
    return s;
}

void Orchestrator::finish_if_done_locked(Active& a) {
    if (a.unfinished()) return;
    bool all_ok = true;
    for (const auto& [_, t] : a.targets) all_ok = all_ok && t.state == TargetState::succeeded;
    DeploymentState state = all_ok ? DeploymentState::succeeded : DeploymentState::failed;
    if (Status s = store_.set_deployment_state(a.record.id, state); !s) log_(s.message());
    a.record.state = state;
    log_("deployment " + std::to_string(a.record.id) + " " + to_string(state));
    // The process side stops the senders and forgets it.
}

void Orchestrator::overlay_live(DeploymentId deployment, std::vector<DeploymentTarget>& targets) {
    std::lock_guard lock(mu_);
    auto it = active_.find(deployment);
    if (it == active_.end()) return;
    for (DeploymentTarget& row : targets) {
        auto t = it->second->targets.find(row.host);
        if (t == it->second->targets.end() || t->second.state != TargetState::running) continue;
        row.bytes_done = t->second.done;
        row.bytes_total = t->second.total;
    }
}

std::optional<std::string> Orchestrator::torrent(DeploymentId deployment) {
    std::lock_guard lock(mu_);
    auto it = active_.find(deployment);
    if (it == active_.end()) return std::nullopt;
    return it->second->torrent;
}

void Orchestrator::tick_sender_locked(Sender& s, Active* a) {
    auto now = SteadyClock::now();
    if (s.pid) {
        auto exit = launcher_.try_reap(*s.pid);
        if (!exit) return;
        s.pid.reset();
        bool clean = exit->kind == pxe::ExitStatus::Kind::kExited && exit->value == 0;
        s.last_exit = exit->describe();
        bool quick = now - s.started_at < std::chrono::seconds(10);
        s.quick_failures = (!clean && quick) ? s.quick_failures + 1 : 0;
        s.restart_at = now + kRestartDelay;
        log_(s.name + " " + s.last_exit);
        if (a && s.quick_failures >= kMaxQuickFailures) {
            for (auto& [_, t] : a->targets)
                if (t.state == TargetState::pending || t.state == TargetState::running)
                    finish_target_locked(*a, t, false, s.name + " keeps failing: " + s.last_exit);
            finish_if_done_locked(*a);
        }
        return;
    }
    if (now < s.restart_at) return;
    if (a && a->record.transport == Transport::multicast) {
        s.argv = {config_.imaging_binary.string(), "send", "--transport", "multicast",
                  "--image", a->image.path, "--interface", config_.multicast_interface,
                  "--group", a->group, "--port", std::to_string(s.port.number()),
                  "--min-receivers", std::to_string(a->unfinished()), "--max-wait",
                  std::to_string(config_.multicast_max_wait)};
        if (!config_.multicast_max_rate.empty())
            s.argv.insert(s.argv.end(), {"--max-rate", config_.multicast_max_rate});
        if (!s.secret_file.empty())
            s.argv.insert(s.argv.end(), {"--secret-file", s.secret_file.string()});
    }
    auto pid = launcher_.spawn(s.argv);
    if (!pid) {
        log_("cannot start " + s.name + ": " + pid.status().message());
        s.quick_failures++;
        s.restart_at = now + kRestartDelay;
        return;
    }
    s.pid = *pid;
    s.started_at = now;
    log_("started " + s.name + " (pid " + std::to_string(*pid) + ")");
}

bool Orchestrator::prepare_torrent_locked(Active& a) {
    if (a.torrent) return true;
    if (a.torrent_failed) return false;
    std::filesystem::path dir = config_.state_dir / "torrents";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    std::filesystem::path file = dir / (std::to_string(a.record.id) + ".torrent");
    // Hashing a whole image takes seconds to minutes: a child, reaped by later ticks, so
    // that nothing waits for it under the lock.
    std::optional<pxe::ExitStatus> exit;
    std::string why;
    if (!a.torrent_maker) {
        auto pid = launcher_.spawn({config_.imaging_binary.string(), "torrent", a.image.path,
                                    "--tracker", config_.boot_url + "/announce", "--out",
                                    file.string(), "--piece-size", "1024"});
        if (pid) {
            a.torrent_maker = *pid;
            return false;
        }
        why = pid.status().message();
    } else {
        exit = launcher_.try_reap(*a.torrent_maker);
        if (!exit) return false;
        a.torrent_maker.reset();
        why = exit->describe();
    }
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!exit || exit->kind != pxe::ExitStatus::Kind::kExited || exit->value != 0 ||
        bytes.empty()) {
        a.torrent_failed = true;
        for (auto& [_, t] : a.targets)
            if (t.state == TargetState::pending || t.state == TargetState::running)
                finish_target_locked(a, t, false, "making the torrent failed: " + why);
        finish_if_done_locked(a);
        return false;
    }
    a.torrent = std::move(bytes);
    if (tracker_) {
        auto t = imaging::torrent::load_image_torrent_unverified({a.torrent->data(), a.torrent->size()});
        if (t)
            tracker_->allow(t->info_hash);
        else
            log_("deployment " + std::to_string(a.record.id) + ": its torrent does not read back (" +
                 t.status().message() + "); the tracker will refuse it");
    }
    a.sender->argv = {config_.imaging_binary.string(), "seed", "--image", a.image.path,
                      "--torrent", file.string(), "--listen",
                      "0.0.0.0:" + std::to_string(a.sender->port.number()), "--super-seed"};
    return true;
}

void Orchestrator::fail_overdue_locked(Active& a, SteadyClock::time_point now) {
    if (now - a.started_at < config_.deploy_timeout) return;
    for (auto& [_, t] : a.targets)
        if (t.state == TargetState::pending || t.state == TargetState::running)
            finish_target_locked(a, t, false,
                                 "timed out after " +
                                     std::to_string(config_.deploy_timeout.count()) + " s");
    finish_if_done_locked(a);
}

void Orchestrator::flush_progress_locked(Active& a, bool force) {
    auto now = SteadyClock::now();
    for (auto& [_, t] : a.targets) {
        if (!t.dirty || t.state != TargetState::running) continue;
        if (!force && now - t.flushed_at < kProgressFlush) continue;
        auto rows = store_.list_targets(a.record.id);
        if (!rows) return;
        for (DeploymentTarget row : *rows) {
            auto live = a.targets.find(row.host);
            if (live == a.targets.end() || !live->second.dirty ||
                live->second.state != TargetState::running)
                continue;
            row.bytes_done = live->second.done;
            row.bytes_total = live->second.total;
            if (Status s = store_.update_target(row); !s) log_(s.message());
            live->second.dirty = false;
            live->second.flushed_at = now;
        }
        return;
    }
}

std::chrono::milliseconds Orchestrator::tick_age() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::nanoseconds(steady_nanoseconds() - last_tick_done_.load()));
}

void Orchestrator::tick() {
    std::lock_guard lock(mu_);
    auto now = SteadyClock::now();
    struct MarkDone {
        std::atomic<std::int64_t>& at;
        ~MarkDone() { at = steady_nanoseconds(); }
    } mark_done{last_tick_done_};
    for (auto it = active_.begin(); it != active_.end();) {
        Active& a = *it->second;
        if (a.record.state == DeploymentState::running) {
            fail_overdue_locked(a, now);
            if (a.record.transport == Transport::torrent) prepare_torrent_locked(a);
        }
        if (a.record.state != DeploymentState::running) {
            if (a.sender) stop_sender_locked(*a.sender, now);
            if (tracker_ && a.torrent)
                if (auto t = imaging::torrent::load_image_torrent_unverified({a.torrent->data(), a.torrent->size()}))
                    tracker_->forget(t->info_hash);
            if (a.torrent_maker) {
                launcher_.send_signal(*a.torrent_maker, SIGTERM);
                stopping_.push_back({*a.torrent_maker, now, {}});
            }
            it = active_.erase(it);
            continue;
        }
        if (a.sender && (a.record.transport != Transport::torrent || a.torrent))
            tick_sender_locked(*a.sender, &a);
        flush_progress_locked(a, false);
        ++it;
    }
    // Delta servers of images run while a running deployment uses their image.
    for (auto it = delta_servers_.begin(); it != delta_servers_.end();) {
        if (it->first.kind != DeltaSource::Kind::image) {
            ++it;
            continue;
        }
        bool used = false;
        for (const auto& [_, a] : active_)
            used = used || (a->image.id == it->first.id && a->record.transport == Transport::delta);
        if (!used) {
            stop_sender_locked(*it->second, now);
            it = delta_servers_.erase(it);
            continue;
        }
        tick_delta_server_locked(*it->second);
        ++it;
    }
    tick_template_servers_locked(now);
    for (auto it = stopping_.begin(); it != stopping_.end();) {
        if (launcher_.try_reap(it->pid)) {
            it = stopping_.erase(it);
            continue;
        }
        if (now - it->term_at > kStopGrace) launcher_.send_signal(it->pid, SIGKILL);
        ++it;
    }
}

void Orchestrator::stop_sender_locked(Sender& s, SteadyClock::time_point now) {
    if (!s.pid) return;
    launcher_.send_signal(*s.pid, SIGTERM);
    stopping_.push_back({*s.pid, now, std::move(s.port)});
    s.pid.reset();
}

// Template servers run while their template is hot and packed. The catalog is small: it is
// read at every tick, so that a removed template's server stops at once.
void Orchestrator::tick_template_servers_locked(SteadyClock::time_point now) {
    auto catalog = store_.list_templates();
    if (!catalog) {
        log_("reading the template catalog: " + catalog.status().message());
        return;
    }
    std::set<DeltaSource> hot;
    for (const Template& t : hot_templates(*catalog, store_.now(), config_.template_cool_down)) {
        const DeltaSource source{DeltaSource::Kind::template_image, t.id};
        const auto dir = template_image_dir(config_.state_dir / "templates", t.ref());
        std::error_code ec;
        if (!std::filesystem::exists(dir / "manifest.json", ec)) continue;
        hot.insert(source);
        if (delta_servers_.contains(source)) continue;
        auto server =
            new_delta_server_locked(source, "delta server for template " + t.ref(), dir.string());
        if (!server) {
            if (portless_templates_.insert(source).second)
                log_(server.status().message() + "; it starts once one is free");
            continue;
        }
        portless_templates_.erase(source);
        delta_servers_.emplace(source, std::move(*server));
    }
    std::erase_if(portless_templates_, [&](const DeltaSource& s) { return !hot.contains(s); });
    for (auto it = delta_servers_.begin(); it != delta_servers_.end();) {
        if (it->first.kind != DeltaSource::Kind::template_image) {
            ++it;
        } else if (!hot.contains(it->first)) {
            log_("stopping " + it->second->name + ": no longer hot");
            stop_sender_locked(*it->second, now);
            it = delta_servers_.erase(it);
        } else {
            tick_delta_server_locked(*it->second);
            ++it;
        }
    }
}

// Whether it listens is checked here, on the process thread, so that the agents' hellos and
// reports never wait for a connect; at most one tick late.
void Orchestrator::tick_delta_server_locked(Sender& server) {
    tick_sender_locked(server, nullptr);
    if (!server.pid)
        server.listening = false;
    else if (!server.listening)
        server.listening = accepts_connections(bind_host(), server.port.number());
}

void Orchestrator::stop_all() {
    std::unique_lock lock(mu_);
    auto now = SteadyClock::now();
    // The senders keep their ports: each is given back with its sender.
    for (auto& [_, a] : active_) {
        flush_progress_locked(*a, true);
        if (a->sender && a->sender->pid) stopping_.push_back({*a->sender->pid, now, {}});
        if (a->sender) a->sender->pid.reset();
        if (a->torrent_maker) stopping_.push_back({*std::exchange(a->torrent_maker, {}), now, {}});
    }
    for (auto& [_, s] : delta_servers_)
        if (s->pid) stopping_.push_back({*s->pid, now, {}}), s->pid.reset();
    for (const Stopping& s : stopping_) launcher_.send_signal(s.pid, SIGTERM);
    auto deadline = now + kStopGrace;
    while (!stopping_.empty()) {
        for (auto it = stopping_.begin(); it != stopping_.end();)
            it = launcher_.try_reap(it->pid) ? stopping_.erase(it) : std::next(it);
        if (stopping_.empty()) break;
        if (SteadyClock::now() > deadline) {
            for (const Stopping& s : stopping_) launcher_.send_signal(s.pid, SIGKILL);
            deadline = SteadyClock::now() + kStopGrace;
        }
        lock.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        lock.lock();
    }
}

}  // namespace provisioner::server
