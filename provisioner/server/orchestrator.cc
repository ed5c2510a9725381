#include "orchestrator.h"

#include <algorithm>
#include <sstream>
#include <tuple>
#include <utility>

#include "auth.h"
#include "imaging/http/client.h"
#include "orchestrator_parts.h"
#include "provisioner/wire/hello.h"
#include "swarm_credentials.h"

namespace provisioner::server {

using nlohmann::json;

namespace {

constexpr auto kProgressFlush = std::chrono::seconds(5);
// Port ranges, each from its base option: delta servers of images from delta_port, of
// templates from delta_port + kTemplatePortOffset; multicast sessions from multicast_port, the
// n-th (from 0) on group prefix.(n + 1); seeds from torrent_port.
constexpr int kDeltaPorts = 1000;
constexpr int kTemplatePortOffset = 2000;
constexpr int kTemplatePorts = 1000;
constexpr int kMulticastSessions = 250;
constexpr int kTorrentPorts = 100;

std::string describe_bytes(std::uint64_t bytes) {
    std::ostringstream out;
    out.precision(1);
    out << std::fixed << double(bytes) / (1 << 20) << " MiB";
    return out.str();
}

// What the agent says of the disk it wrote (its result's disk, disk_choice, disk_growth), for
// the host's record: the agent's text, bounded and printable ASCII only.
std::string describe_disk(const nlohmann::json& result) {
    auto text = [&](const nlohmann::json& j, const char* key, std::size_t limit) {
        auto it = j.find(key);
        std::string out;
        if (it == j.end() || !it->is_string()) return out;
        for (unsigned char c : it->get_ref<const std::string&>()) {
            if (out.size() == limit) break;
            if (c >= 0x20 && c < 0x7f) out += char(c);
        }
        return out;
    };
    std::string disk = text(result, "disk", 64);
    if (disk.empty()) return "";
    std::string out = ", on " + disk;
    if (std::string choice = text(result, "disk_choice", 200); !choice.empty())
        out += " (" + choice + ")";
    auto growth = result.find("disk_growth");
    if (growth != result.end() && growth->is_object())
        if (std::string why = text(*growth, "reason", 200); !why.empty()) out += "; " + why;
    return out;
}

bool unfinished(TargetState s) {
    return s == TargetState::pending || s == TargetState::running;
}

std::string describe_delivery(const imaging::Delivery& d, const std::string& by = "") {
    std::string text = "delivery confirmed by the " + d.transport + " sender";
    if (!by.empty()) text += " of rack server " + by;
    if (!d.peer.empty()) text += " (receipt from " + d.peer;
    if (d.chunks_total && d.transport == "delta")
        text += (d.peer.empty() ? " (" : ", ") + std::to_string(d.chunks_sent) + " of " +
                std::to_string(d.chunks_total) + " chunks sent";
    if (!d.peer.empty() || (d.chunks_total && d.transport == "delta")) text += ")";
    return text;
}

}  // namespace

Orchestrator::Orchestrator(Store& store, const ServerConfig& config, pxe::ProcessLauncher& launcher,
                           std::string pubkey_pem, Log log, base::Clock& clock)
    : store_(store),
      config_(config),
      launcher_(launcher),
      pubkey_pem_(std::move(pubkey_pem)),
      log_(std::move(log)),
      clock_(clock),
      writes_(log_),
      deliveries_(config.state_dir / "deliveries") {
    last_tick_done_ = nanoseconds_of(clock_.now());
    // No sender runs yet: logs left by an earlier run name deployments that are over.
    std::error_code ec;
    std::filesystem::remove_all(deliveries_.dir(), ec);
    std::filesystem::create_directories(deliveries_.dir(), ec);
    std::filesystem::permissions(deliveries_.dir(), std::filesystem::perms::owner_all, ec);
}

Orchestrator::~Orchestrator() {
    stop_all();
    std::error_code ec;
    for (const auto& [_, secret] : template_secrets_) std::filesystem::remove(secret.second, ec);
}

Transport Orchestrator::auto_transport(std::size_t hosts) const {
    if (hosts < config_.auto_threshold) return Transport::delta;
    // Without an interface to multicast on, the hosts share the image among themselves: the
    // super-seed uploads about one copy, where delta would send one per host.
    return config_.multicast_interface.empty() ? Transport::torrent : Transport::multicast;
}

std::optional<TemplateDelta> Orchestrator::template_delta(const Template& t,
                                                          const std::string& rack) {
    // A delta server of this server's, once it listens, as a Dom0 agent reaches it.
    auto served_here = [&](const Sender& s) -> std::optional<TemplateDelta> {
        if (!s.listening || !s.secret) return std::nullopt;
        return TemplateDelta{server_host() + ":" + std::to_string(s.port.number()),
                             imaging::secret_to_hex(*s.secret)};
    };
    if (!rack.empty()) {
        std::lock_guard lock(mu_);
        if (auto r = rack_template_sources_.find(rack); r != rack_template_sources_.end())
            if (auto it = r->second.find(t.id); it != r->second.end()) return it->second;
        if (template_racks_.contains(rack)) {
            auto it = delta_servers_.find({DeltaSource::Kind::rack_template, t.id});
            if (it != delta_servers_.end())
                if (auto delta = served_here(*it->second)) return delta;
        }
    }
    if (hot_lease_ && !serving_hot_) return hot_lease_->published(t.id);  // another serves it
    const DeltaSource source{DeltaSource::Kind::template_image, t.id};
    std::lock_guard lock(mu_);
    auto it = delta_servers_.find(source);
    if (it == delta_servers_.end()) return std::nullopt;
    return served_here(*it->second);
}

void Orchestrator::set_rack_templates(const std::vector<RackTemplate>& copies,
                                      std::set<std::string> racks) {
    std::vector<RackTemplate> missing;
    {
        std::lock_guard lock(mu_);
        rack_templates_.clear();
        template_racks_ = std::move(racks);
        for (const RackTemplate& c : copies) {
            rack_templates_[c.t.id] = c.dir;
            if (!delta_servers_.contains({DeltaSource::Kind::rack_template, c.t.id}))
                missing.push_back(c);
        }
    }
    for (const RackTemplate& c : missing) {
        auto secret = make_secret("delta-rack-template-" + std::to_string(c.t.id) + "-" +
                                  std::to_string(++next_secret_));
        if (!secret) {  // unserved here: its hosts keep the serving server's
            log_("rack delta server for template " + c.t.ref() + ": " + secret.status().message());
            continue;
        }
        std::unique_ptr<Sender> unused;  // destroyed after the lock: removes its secret file
        std::optional<Secret> pending = std::move(*secret);
        std::lock_guard lock(mu_);
        const DeltaSource source{DeltaSource::Kind::rack_template, c.t.id};
        auto still = rack_templates_.find(c.t.id);
        if (still == rack_templates_.end() || still->second != c.dir ||
            delta_servers_.contains(source)) {
            unused = std::make_unique<Sender>();
            std::tie(unused->secret, unused->secret_file) = std::move(*pending);
            continue;
        }
        auto server = new_delta_server_locked(source, "rack delta server for template " + c.t.ref(),
                                              c.dir.string(), std::move(pending));
        if (!server) {
            log_locked(server.status().message());
            continue;
        }
        delta_servers_.emplace(source, std::move(*server));
    }
    apply_writes();
}

std::map<TemplateId, TemplateDelta> Orchestrator::rack_template_servers() {
    std::map<TemplateId, TemplateDelta> out;
    std::lock_guard lock(mu_);
    for (const auto& [source, s] : delta_servers_)
        if (source.kind == DeltaSource::Kind::rack_template && s->listening && s->secret)
            out[source.id] = {server_host() + ":" + std::to_string(s->port.number()),
                              imaging::secret_to_hex(*s->secret)};
    return out;
}

void Orchestrator::set_rack_template_sources(
    std::map<std::string, std::map<TemplateId, TemplateDelta>> sources) {
    std::lock_guard lock(mu_);
    rack_template_sources_ = std::move(sources);
}

std::string Orchestrator::image_dir_locked(const Image& image) const {
    if (image_copy_)
        if (auto copy = image_copy_(image)) return copy->string();
    return image.path;
}

void Orchestrator::set_rack_images(const std::vector<Image>& images) {
    std::vector<Image> missing;
    {
        std::lock_guard lock(mu_);
        rack_images_.clear();
        for (const Image& image : images) {
            rack_images_.insert(image.id);
            if (!delta_servers_.contains({DeltaSource::Kind::image, image.id}))
                missing.push_back(image);
        }
    }
    start_image_servers(missing, "rack delta server for ",
                        [this](const Image& image) { return rack_images_.contains(image.id); });
}

void Orchestrator::start_image_servers(
    const std::vector<Image>& images, const std::string& label,
    const std::function<bool(const Image&)>& still_wanted_locked) {
    for (const Image& image : images) {
        auto secret = make_secret("delta-image-" + std::to_string(image.id) + "-" +
                                  std::to_string(++next_secret_));
        if (!secret) {
            log_(label + image.name + "@" + image.version + ": " + secret.status().message());
            continue;
        }
        std::unique_ptr<Sender> unused;  // destroyed after the lock: removes its secret file
        std::optional<Secret> pending = std::move(*secret);
        {
            std::lock_guard lock(mu_);
            const DeltaSource source{DeltaSource::Kind::image, image.id};
            if (!still_wanted_locked(image) || delta_servers_.contains(source)) {
                unused = std::make_unique<Sender>();
                std::tie(unused->secret, unused->secret_file) = std::move(*pending);
                continue;
            }
            auto server = new_delta_server_locked(source, label + image.name + "@" + image.version,
                                                  image_dir_locked(image), std::move(pending));
            if (!server) {
                log_locked(server.status().message());
                continue;
            }
            delta_servers_.emplace(source, std::move(*server));
        }
    }
    apply_writes();
}

void Orchestrator::set_rack_multicast(const std::vector<RackMulticast>& sessions) {
    std::vector<RackMulticast> missing;
    std::vector<std::unique_ptr<Sender>> unused;  // destroyed after the lock
    {
        std::lock_guard lock(mu_);
        std::set<DeploymentId> named;
        for (const RackMulticast& w : sessions) {
            named.insert(w.deployment);
            if (auto it = rack_multicast_.find(w.deployment); it != rack_multicast_.end())
                it->second.hosts = w.hosts;
            else
                missing.push_back(w);
        }
        for (auto it = rack_multicast_.begin(); it != rack_multicast_.end();) {
            if (named.contains(it->first)) {
                ++it;
                continue;
            }
            log_locked("stopping the " + it->second.sender->name +
                       ": its hosts here are done, or it ended, or this server owns it now");
            retire_locked(std::move(it->second.sender));
            it = rack_multicast_.erase(it);
        }
        if (!missing.empty() && config_.multicast_interface.empty()) {
            log_locked(
                "rack multicast: no --multicast-interface (or --dhcp-interface): this "
                "rack's hosts get the owner's multicast session");
            missing.clear();
        }
    }
    for (const RackMulticast& w : missing) {
        const std::string id = std::to_string(w.deployment);
        auto secret = make_secret("rack-multicast-" + id + "-" + std::to_string(++next_secret_));
        auto receipt =
            make_secret("rack-multicast-receipts-" + id + "-" + std::to_string(++next_secret_));
        auto sender = std::make_unique<Sender>();
        if (secret) std::tie(sender->secret, sender->secret_file) = *secret;
        if (receipt) {
            sender->delivery_log = delivery_log_for(*receipt);
            std::tie(sender->receipt_secret, sender->receipt_secret_file) = *receipt;
        }
        if (!secret || !receipt) {  // unauthenticated or unconfirmed, it would be no use
            log_("rack multicast sender of deployment " + id + ": " +
                 (!secret ? secret.status() : receipt.status()).message());
            unused.push_back(std::move(sender));
            continue;
        }
        std::lock_guard lock(mu_);
        if (rack_multicast_.contains(w.deployment)) {
            unused.push_back(std::move(sender));
            continue;
        }
        // The upper half of the range: another server on the segment with the same
        // --multicast-port takes its own deployments' sessions from the bottom, so the groups
        // and ports of a rack session and an owner's do not meet (up to 125 of each).
        auto port = udp_ports_.acquire({config_.multicast_port + kMulticastSessions / 2,
                                        kMulticastSessions - kMulticastSessions / 2});
        if (!port) {
            log_locked("rack multicast sender of deployment " + id + ": " +
                       port.status().message() + "; this rack's hosts get the owner's session");
            unused.push_back(std::move(sender));
            continue;
        }
        sender->child = next_child_++;
        sender->port = std::move(*port);
        sender->name = "rack multicast sender of deployment " + id;
        RackSession r;
        r.group = config_.multicast_group_prefix + "." +
                  std::to_string(sender->port.number() - config_.multicast_port + 1);
        r.sender = std::move(sender);
        r.image = w.image;
        r.hosts = w.hosts;
        log_locked("rack multicast: deployment " + id + "'s hosts in this server's racks (" +
                   std::to_string(w.hosts.size()) + ") get " + w.image.name + "@" +
                   w.image.version + " from its copy here, on " + r.group + ":" +
                   std::to_string(r.sender->port.number()));
        rack_multicast_.emplace(w.deployment, std::move(r));
    }
    apply_writes();
}

std::map<DeploymentId, MulticastSource> Orchestrator::rack_multicast_sessions() {
    std::map<DeploymentId, MulticastSource> out;
    std::lock_guard lock(mu_);
    for (const auto& [id, r] : rack_multicast_) {
        const Sender& s = *r.sender;
        if (!s.pid || !s.secret || !s.receipt_secret) continue;
        MulticastSource m;
        m.group = r.group;
        m.port = std::uint16_t(s.port.number());
        m.secret = *s.secret;
        m.receipt_master = *s.receipt_secret;
        out.emplace(id, std::move(m));
    }
    return out;
}

bool Orchestrator::has_foreign_rack_hosts_locked(const Active& a) const {
    for (const auto& [_, t] : a.targets)
        if (unfinished(t.state) && !t.host.rack.empty() && foreign_racks_.contains(t.host.rack))
            return true;
    return false;
}

const MulticastSource* Orchestrator::rack_session_locked(const Active& a, const Target& t) const {
    if (a.record.transport != Transport::multicast || !t.rack_server.empty() || t.host.rack.empty())
        return nullptr;
    auto rack = rack_multicast_sources_.find(t.host.rack);
    if (rack == rack_multicast_sources_.end()) return nullptr;
    auto session = rack->second.find(a.record.id);
    if (session == rack->second.end() || session->second.server == a.taken_from) return nullptr;
    return &session->second;
}

std::size_t Orchestrator::own_receivers_locked(const Active& a) const {
    std::size_t n = 0;
    for (const auto& [_, t] : a.targets) {
        if (!unfinished(t.state)) continue;
        const bool at_rack =
            t.rack_server.empty() ? rack_session_locked(a, t) != nullptr : !t.rack_left;
        n += !at_rack;
    }
    return n;
}

void Orchestrator::set_rack_multicast_sources(
    std::map<std::string, std::map<DeploymentId, MulticastSource>> sources,
    std::set<std::string> foreign_racks) {
    std::vector<Image> missing;
    {
        std::lock_guard lock(mu_);
        rack_multicast_sources_ = std::move(sources);
        foreign_racks_ = std::move(foreign_racks);
        std::set<ImageId> seen;
        for (const auto& [_, a] : active_)
            if (a->record.transport != Transport::delta && has_foreign_rack_hosts_locked(*a) &&
                !delta_servers_.contains({DeltaSource::Kind::image, a->image.id}) &&
                seen.insert(a->image.id).second)
                missing.push_back(a->image);
    }
    // The rack servers fetch these images by delta (rack_images.h), whatever the transport.
    start_image_servers(missing, "delta server (for rack servers) of ", [this](const Image& image) {
        for (const auto& [_, a] : active_)
            if (a->image.id == image.id && a->record.state == DeploymentState::running &&
                has_foreign_rack_hosts_locked(*a))
                return true;
        return false;
    });
}

void Orchestrator::set_rack_sources(std::map<std::string, std::map<ImageId, PeerSource>> sources) {
    std::lock_guard lock(mu_);
    rack_sources_ = std::move(sources);
}

std::optional<std::vector<imaging::Delivery>> Orchestrator::foreign_deliveries(
    const std::set<DeploymentId>& running) {
    std::lock_guard lock(mu_);
    const auto ended = foreign_.erase_if([&](const imaging::Delivery& d) {
        std::int64_t deployment = 0, host = 0;
        return !parse_receiver_id(d.receiver, deployment, host) || !running.contains(deployment);
    });
    if (!std::exchange(foreign_changed_, false) && ended == 0) return std::nullopt;
    return foreign_.all();
}

void Orchestrator::absorb_peer_deliveries(const std::vector<imaging::Delivery>& deliveries,
                                          const std::string& from) {
    {
        std::lock_guard lock(mu_);
        absorb_deliveries_locked(deliveries, false, from);
    }
    apply_writes();
}

std::map<ImageId, PeerSource> Orchestrator::image_sources() {
    std::map<ImageId, PeerSource> out;
    std::lock_guard lock(mu_);
    for (const auto& [source, s] : delta_servers_) {
        if (source.kind != DeltaSource::Kind::image || !s->listening || !s->secret) continue;
        PeerSource p;
        p.address = server_host() + ":" + std::to_string(s->port.number());
        p.receiver_id = "peers";
        p.key = imaging::receiver_key(*s->secret, p.receiver_id);
        p.master = *s->secret;
        out.emplace(source.id, std::move(p));
    }
    return out;
}

void Orchestrator::set_tracker(std::shared_ptr<imaging::torrent::Tracker> tracker) {
    std::lock_guard lock(mu_);
    tracker_ = std::move(tracker);
}

std::string Orchestrator::bind_host() const {
    return config_.dhcp_address.empty() ? "0.0.0.0" : config_.dhcp_address;
}

void Orchestrator::log_locked(std::string line) {
    writes_.queue([this, line = std::move(line)] {
        log_(line);
        return Status::ok();
    });
}

Result<Orchestrator::Secret> Orchestrator::make_secret(const std::string& name) {
    auto secret = imaging::random_secret();
    if (!secret) return Status::error(Code::storage, secret.status().message());
    std::filesystem::path file = secrets_dir(config_.state_dir) / name;
    if (auto s = imaging::write_secret_file(file, *secret); !s)
        return Status::error(Code::storage, s.message());
    return std::pair{*secret, file};
}

std::filesystem::path Orchestrator::delivery_log_for(const Secret& secret) const {
    return deliveries_.dir() / (secret.second.filename().string() + ".log");
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
    // The secret a new sender may need is written before the lock is taken; a delta
    // deployment whose image's server runs already leaves it unused, removed below.
    std::optional<Secret> secret;
    std::string secret_problem;
    struct RemoveUnused {  // a secret no sender took; runs after every lock below is released
        std::optional<Secret>& secret;
        ~RemoveUnused() {
            std::error_code ec;
            if (secret) std::filesystem::remove(secret->second, ec);
        }
    } remove_unused{secret};
    if (transport != Transport::torrent) {
        const std::string name =
            (transport == Transport::delta ? "delta-image-" + std::to_string(image.id)
                                           : std::string("multicast")) +
            "-" + std::to_string(++next_secret_);
        if (auto made = make_secret(name))
            secret = std::move(*made);
        else
            secret_problem = made.status().message();
    }

    // A multicast sender confirms its receivers under a secret of its own (orchestrator_parts.h):
    // without it no result of the deployment could be believed, so it is not started.
    std::optional<Secret> receipt;
    struct RemoveUnusedReceipt {
        std::optional<Secret>& secret;
        ~RemoveUnusedReceipt() {
            std::error_code ec;
            if (secret) std::filesystem::remove(secret->second, ec);
        }
    } remove_unused_receipt{receipt};
    if (transport == Transport::multicast) {
        auto made = make_secret("multicast-receipts-" + std::to_string(++next_secret_));
        if (!made)
            return Status::error(Code::storage, "no receipt secret for the multicast sender: " +
                                                    made.status().message());
        receipt = std::move(*made);
    }

    // A torrent's swarm admits only the peers its own CA certified (swarm_credentials.h): the
    // seed's certificate file is written here, before the lock, and owned by the seed.
    std::optional<SwarmCredentials> swarm;
    std::filesystem::path seed_cert;
    struct RemoveUnusedSeedCert {
        std::filesystem::path& file;
        ~RemoveUnusedSeedCert() {
            std::error_code ec;
            if (!file.empty()) std::filesystem::remove(file, ec);
        }
    } remove_unused_seed_cert{seed_cert};
    if (transport == Transport::torrent) {
        auto made =
            make_swarm_credentials("deployment of " + image.name + "@" + image.version, hosts);
        if (!made) return made.status();
        swarm = std::move(*made);
        seed_cert = secrets_dir(config_.state_dir) /
                    ("torrent-seed-" + std::to_string(++next_secret_) + ".pem");
        if (auto s = imaging::torrent::write_peer_cert_file(seed_cert, swarm->seed); !s) {
            seed_cert.clear();
            return Status::error(Code::storage, "the seed's certificate: " + s.message());
        }
    }

    std::unique_ptr<Sender> sender;
    auto created = std::make_shared<Deployment>();
    std::shared_ptr<const OrderedWrites::Outcome> recorded;
    std::vector<HostId> ids;
    for (const Host& h : hosts) ids.push_back(h.id);
    {
        std::lock_guard lock(mu_);
        for (const Host& h : hosts) {
            if (host_deployment_.contains(h.id))
                return Status::error(Code::conflict, "host " + h.name +
                                                         " is in running deployment " +
                                                         std::to_string(host_deployment_[h.id]));
            if (reserved_hosts_.contains(h.id))
                return Status::error(Code::conflict,
                                     "host " + h.name + " is being added to another deployment");
            if (!is_deployable(h.state))
                return Status::error(Code::illegal_transition,
                                     "host " + h.name + " is " + to_string(h.state) +
                                         ", not deployable (enrolled, imaged, ready or failed)");
        }
        if (transport == Transport::delta && !secret &&
            !delta_servers_.contains({DeltaSource::Kind::image, image.id}))
            return Status::error(Code::storage, "no secret for the delta server for " + image.name +
                                                    "@" + image.version + ": " + secret_problem);
        auto made = new_sender_locked(image, transport, secret);
        if (!made) return made.status();
        sender = std::move(*made);
        if (sender && receipt) {
            sender->delivery_log = delivery_log_for(*receipt);
            std::tie(sender->receipt_secret, sender->receipt_secret_file) =
                *std::exchange(receipt, std::nullopt);
        }
        reserved_hosts_.insert(ids.begin(), ids.end());
        if (transport == Transport::delta) ++deploying_images_[image.id];
        recorded = writes_.queue([this, image, ids, transport, created]() -> Status {
            return store_.transaction([&]() -> Status {
                auto d = store_.create_deployment(image.id, transport, ids);
                if (!d) return d.status();
                *created = *d;
                std::string reason = "deployment " + std::to_string(d->id) + ": " + image.name +
                                     "@" + image.version + " by " + to_string(transport);
                for (HostId id : ids)
                    if (auto e = store_.transition(id, HostState::booting, reason); !e)
                        return e.status();
                // Owned by this server from its first moment (lease_keeper.h).
                if (leases_)
                    if (auto lease = leases_->acquire(deployment_lease(d->id)); !lease)
                        return lease.status();
                return Status::ok();
            });
        });
    }
    apply_writes();

    {
        std::lock_guard lock(mu_);
        for (HostId id : ids) reserved_hosts_.erase(id);
        if (transport == Transport::delta && --deploying_images_[image.id] == 0)
            deploying_images_.erase(image.id);
        // Recorded or not, a sender that is not kept gives its port back here, under mu_, and
        // is destroyed (its secret file removed) after the lock is released.
        auto discard = [&] {
            if (sender) sender->port = PortLease();
        };
        if (!recorded->status) {
            discard();
        } else {
            auto a = std::make_unique<Active>();
            a->record = *created;
            a->image = image;
            a->started_at = clock_.now();
            for (const Host& h : hosts) {
                Target t;
                t.host = h;
                t.total = image.stored_size;
                a->targets.emplace(h.id, std::move(t));
                host_deployment_[h.id] = created->id;
            }
            switch (transport) {
                case Transport::delta: {
                    const DeltaSource source{DeltaSource::Kind::image, image.id};
                    // Another deployment of this image may have started its server meanwhile.
                    if (sender && !delta_servers_.contains(source))
                        delta_servers_.emplace(source, std::move(sender));
                    else
                        discard();
                    break;
                }
                case Transport::multicast:
                    a->sender = std::move(sender);
                    a->sender->name =
                        "multicast sender of deployment " + std::to_string(created->id);
                    if (!a->sender->secret)
                        log_locked("deployment " + std::to_string(created->id) +
                                   ": no secret for its multicast session, it runs "
                                   "unauthenticated: " +
                                   secret_problem);
                    a->group =
                        config_.multicast_group_prefix + "." +
                        std::to_string(a->sender->port.number() - config_.multicast_port + 1);
                    break;  // argv is made at each tick: --min-receivers follows the hosts left
                case Transport::torrent:
                    a->sender = std::move(sender);
                    a->sender->name = "seed of deployment " + std::to_string(created->id);
                    a->sender->secret_file = std::exchange(seed_cert, {});  // removed with it
                    a->swarm = std::move(swarm);
                    a->torrent_maker = next_child_++;
                    a->torrent_file =
                        config_.state_dir / "torrents" / (std::to_string(created->id) + ".torrent");
                    break;  // argv once the torrent is made (on the process thread)
            }
            log_locked("deployment " + std::to_string(created->id) + ": " + image.name + "@" +
                       image.version + " to " + std::to_string(hosts.size()) + " host(s) by " +
                       to_string(transport));
            active_.emplace(created->id, std::move(a));
        }
    }
    apply_writes();
    sender.reset();
    if (!recorded->status) return recorded->status;
    return *created;
}

Result<std::unique_ptr<Orchestrator::Sender>> Orchestrator::new_delta_server_locked(
    DeltaSource source, const std::string& name, const std::string& image_path,
    std::optional<Secret> secret) {
    const PortRange range =
        source.kind == DeltaSource::Kind::image
            ? PortRange{config_.delta_port, kDeltaPorts}
            : PortRange{config_.delta_port + kTemplatePortOffset, kTemplatePorts};
    auto port = tcp_ports_.acquire(range);
    if (!port) return port.status().context("no free port for the " + name);
    auto server = std::make_unique<Sender>();
    server->child = next_child_++;
    server->name = name;
    server->port = std::move(*port);
    server->argv = {config_.imaging_binary.string(),
                    "serve",
                    "--image",
                    image_path,
                    "--listen",
                    bind_host() + ":" + std::to_string(server->port.number()),
                    "--rate-limit",
                    std::to_string(config_.delta_rate_limit)};
    // Every server has one: an image's from deploy(), a template's from
    // prepare_template_secrets(); the agents get it in their job or hot list.
    if (secret) {
        // An image's server confirms each host's delivery (proof of receipt); a template's
        // serves Dom0 agents' pre-copies, which nothing waits on.
        if (source.kind == DeltaSource::Kind::image)
            server->delivery_log = delivery_log_for(*secret);
        std::tie(server->secret, server->secret_file) = std::move(*secret);
        server->argv.insert(server->argv.end(), {"--secret-file", server->secret_file.string()});
        if (!server->delivery_log.empty())
            server->argv.insert(server->argv.end(),
                                {"--delivery-log", server->delivery_log.string()});
    }
    return server;
}

Result<std::unique_ptr<Orchestrator::Sender>> Orchestrator::new_sender_locked(
    const Image& image, Transport transport, std::optional<Secret>& secret) {
    if (transport == Transport::delta) {
        if (delta_servers_.contains({DeltaSource::Kind::image, image.id}))
            return std::unique_ptr<Sender>();
        return new_delta_server_locked({DeltaSource::Kind::image, image.id},
                                       "delta server for " + image.name + "@" + image.version,
                                       image_dir_locked(image),
                                       std::exchange(secret, std::nullopt));
    }
    const bool multicast = transport == Transport::multicast;
    auto port = multicast ? udp_ports_.acquire({config_.multicast_port, kMulticastSessions})
                          : tcp_ports_.acquire({config_.torrent_port, kTorrentPorts});
    if (!port)
        return port.status().context(multicast ? "no free multicast session (group and port)"
                                               : "no free port for a seed");
    auto sender = std::make_unique<Sender>();
    sender->child = next_child_++;
    sender->port = std::move(*port);
    if (multicast && secret)
        std::tie(sender->secret, sender->secret_file) = *std::exchange(secret, std::nullopt);
    return sender;
}

bool Orchestrator::delta_ready_locked(ImageId image) {
    const DeltaSource source{DeltaSource::Kind::image, image};
    auto it = delta_servers_.find(source);
    return it != delta_servers_.end() && it->second->pid && it->second->listening;
}

json Orchestrator::job_locked(const Active& a, const Host& host, Target& t) {
    wire::Job job;
    job.deployment = a.record.id;
    job.image_id = a.image.id;
    job.image_name = a.image.name;
    job.image_version = a.image.version;
    job.raw_size = a.image.raw_size;
    job.stored_size = a.image.stored_size;
    job.image_sha256 = a.image.image_sha256;
    job.pubkey_pem = pubkey_pem_;
    job.host = host.name;
    switch (a.record.transport) {
        case Transport::delta: {
            // hello() asks for a job only once the image's server listens: it is there.
            const Sender& server = *delta_servers_.at({DeltaSource::Kind::image, a.image.id});
            job.transport = wire::Transport::delta;
            // A host of a rack whose own server holds a copy images from it (rack_images.h),
            // once: asking again means that transfer broke off, and this server sends the rest.
            if (auto rack = rack_sources_.find(host.rack);
                rack != rack_sources_.end() && !host.rack.empty() && t.rack_server.empty())
                if (auto src = rack->second.find(a.image.id);
                    src != rack->second.end() && src->second.server != a.taken_from) {
                    t.rack_server = src->second.server;
                    job.delta_from = src->second.address;
                    job.receiver_id = receiver_id_of(a.record.id, host.id);
                    job.secret = imaging::secret_to_hex(
                        imaging::receiver_key(src->second.master, job.receiver_id));
                    break;
                }
            job.delta_from = server_host() + ":" + std::to_string(server.port.number());
            // The host's own key, derived from the server's secret, which never leaves this
            // machine: its session is this host's, and its receipt proves delivery to it.
            if (server.secret) {
                job.receiver_id = receiver_id_of(a.record.id, host.id);
                job.secret =
                    imaging::secret_to_hex(imaging::receiver_key(*server.secret, job.receiver_id));
            }
            break;
        }
        case Transport::multicast:
            job.transport = wire::Transport::multicast;
            // A host of a rack whose server multicasts its copy joins that session, once:
            // asking again means it broke off (that server died), and this server's serves it.
            if (const MulticastSource* rack = rack_session_locked(a, t)) {
                t.rack_server = rack->server;
                job.multicast_group = rack->group;
                job.multicast_port = rack->port;
                job.secret = imaging::secret_to_hex(rack->secret);
                job.receiver_id = receiver_id_of(a.record.id, host.id);
                job.receipt_key = imaging::secret_to_hex(
                    imaging::receiver_key(rack->receipt_master, job.receiver_id));
                break;
            }
            if (!t.rack_server.empty()) t.rack_left = true;
            job.multicast_group = a.group;
            job.multicast_port = std::uint16_t(a.sender->port.number());
            if (a.sender->secret) job.secret = imaging::secret_to_hex(*a.sender->secret);
            if (a.sender->receipt_secret) {
                job.receiver_id = receiver_id_of(a.record.id, host.id);
                job.receipt_key = imaging::secret_to_hex(
                    imaging::receiver_key(*a.sender->receipt_secret, job.receiver_id));
            }
            break;
        case Transport::torrent:
            job.transport = wire::Transport::torrent;
            job.torrent_url =
                config_.boot_url + "/torrents/" + std::to_string(a.record.id) + ".torrent";
            // Its certificate and key for the swarm: this answer goes to this host alone, over
            // the authenticated agent API (an observer of the LAN sees the torrent, not these).
            if (a.swarm)
                if (auto c = a.swarm->hosts.find(host.id); c != a.swarm->hosts.end())
                    job.torrent_peer_cert = c->second.pem();
            break;
    }
    wire::HelloAnswer answer;
    answer.action = wire::HelloAnswer::Action::image;
    answer.job = std::move(job);
    return wire::encode(answer);
}

std::optional<DeploymentId> Orchestrator::deployment_of(HostId host) {
    std::lock_guard lock(mu_);
    auto d = host_deployment_.find(host);
    if (d == host_deployment_.end()) return std::nullopt;
    return d->second;
}

Orchestrator::HelloAnswer Orchestrator::hello(const Host& host, const HelloCredential& credential) {
    using Kind = HelloCredential::Kind;
    HelloAnswer answer;
    std::shared_ptr<const OrderedWrites::Outcome> claimed;  // pending -> running, in the store
    // Most hellos ("wait" while a sender starts) write nothing: those do not wait for other
    // callers' writes in progress.
    bool queued = false;
    DeploymentId deployment = 0;
    {
        std::lock_guard lock(mu_);
        auto d = host_deployment_.find(host.id);
        const bool named = credential.kind != Kind::dom0_token;
        if (named && (d == host_deployment_.end() || d->second != credential.deployment))
            return {{},
                    "deployment " + std::to_string(credential.deployment) +
                        " is over for this host: its ticket and token are no longer good"};
        if (d == host_deployment_.end())
            return {{{"action", "none"}, {"reason", "no deployment for this host"}}, ""};
        Active& a = *active_.at(d->second);
        Target& t = a.targets.at(host.id);
        deployment = a.record.id;
        if (credential.kind == Kind::boot_ticket) {
            if (t.state != TargetState::pending) {
                // The real host or someone else has used it: either way this hello is not the
                // first, and the operator should know.
                Event e;
                e.host = host.id;
                e.mac = host.mac.str();
                e.reason = "boot ticket of deployment " + std::to_string(a.record.id) +
                           " used again (someone else may hold it); refused";
                queued = true;
                writes_.queue([this, e]() mutable -> Status {
                    e.time = store_.now();
                    auto logged = store_.log_event(e);
                    return logged ? Status::ok() : logged.status();
                });
                // Whoever said hello first holds the job and a deployment token, and the job
                // names the image's sha256: it could report a success without receiving a
                // byte. Two hellos on one ticket mean one of them is not the host, so that
                // part fails.
                if (t.state == TargetState::running) {
                    finish_target_locked(a, t, false,
                                         "its boot ticket was used twice: another machine may "
                                         "hold this host's job; deploy it again");
                    finish_if_done_locked(a);
                }
                answer = {{}, "this boot ticket has been used: a ticket is good for one hello"};
            } else if (clock_.now() - a.started_at > config_.boot_ticket_lifetime) {
                answer = {{},
                          "this boot ticket has expired (" +
                              std::to_string(config_.boot_ticket_lifetime.count()) +
                              " s after its deployment started)"};
            }
        }
        if (answer.refused.empty()) {
            bool ready = true;
            switch (a.record.transport) {
                case Transport::delta:
                    ready = delta_ready_locked(a.image.id);
                    break;
                case Transport::multicast:
                    // A host of a rack whose server multicasts the image goes there; the
                    // others need this server's own sender, started now if not yet.
                    if (!t.rack_server.empty()) t.rack_left = true;  // asking again: broke off
                    ready = rack_session_locked(a, t) || a.sender->pid.has_value();
                    if (!ready) a.own_session_wanted = true;
                    break;
                case Transport::torrent:
                    ready = a.torrent.has_value() && a.sender->pid.has_value();
                    break;
            }
            if (!unfinished(t.state)) {
                answer = {
                    {{"action", "none"}, {"reason", "this host's part of the deployment is over"}},
                    ""};
            } else if (!ready) {
                answer = {{{"action", "wait"}, {"retry_after_ms", 1000}}, ""};
            } else {
                if (t.state == TargetState::pending) {
                    // Claimed now, so that a second hello on this ticket is seen as one; the
                    // store learns it below, and a refusal there gives the claim back.
                    t.state = TargetState::running;
                    DeploymentTarget row;
                    row.deployment = a.record.id;
                    row.host = host.id;
                    row.state = TargetState::running;
                    row.transport = a.record.transport;
                    row.bytes_total = t.total;
                    queued = true;
                    claimed = writes_.queue([this, row]() mutable -> Status {
                        return store_.transaction([&]() -> Status {
                            auto e = store_.transition(
                                row.host, HostState::imaging,
                                "agent hello, deployment " + std::to_string(row.deployment));
                            if (!e) return e.status();
                            row.started_at = store_.now();
                            return store_.update_target(row);
                        });
                    });
                }
                answer = {job_locked(a, host, t), ""};
            }
        }
    }
    if (queued) apply_writes();
    if (!claimed || claimed->status) return answer;
    {
        std::lock_guard lock(mu_);
        auto it = active_.find(deployment);
        if (it != active_.end()) {
            auto t = it->second->targets.find(host.id);
            // Unless something ended it meanwhile, the host may say hello again.
            if (t != it->second->targets.end() && t->second.state == TargetState::running)
                t->second.state = TargetState::pending;
        }
    }
    return {{{"action", "none"}, {"reason", claimed->status.message()}}, ""};
}

Status Orchestrator::progress(HostId host, DeploymentId deployment, std::uint64_t done,
                              std::uint64_t total) {
    bool resumed = false;
    {
        std::lock_guard lock(mu_);
        auto it = active_.find(deployment);
        if (it == active_.end() || !it->second->targets.contains(host))
            return Status::error(
                Code::not_found,
                "no running deployment " + std::to_string(deployment) + " for this host");
        Target& t = it->second->targets.at(host);
        if (t.state != TargetState::running)
            return Status::error(Code::illegal_transition, "this host is not imaging");
        t.done = done;
        if (total) t.total = total;
        t.dirty = true;
        resumed = std::exchange(t.adopted, false);
        if (resumed) resumed_locked(*it->second, t);
    }
    if (resumed) apply_writes();  // its event (orchestrator_takeover.cc)
    return Status::ok();
}

Result<Orchestrator::ResultAnswer> Orchestrator::result(const Host& host, DeploymentId deployment,
                                                        bool ok, const std::string& error,
                                                        const json& result) {
    // A receipt the sender acknowledged just before this result is in its log already.
    const auto arrived = read_deliveries();
    // What absorbing them queued is applied on every way out, after mu_ is released.
    struct ApplyOnReturn {
        Orchestrator& o;
        ~ApplyOnReturn() { o.apply_writes(); }
    } apply_on_return{*this};
    std::shared_ptr<const OrderedWrites::Outcome> finished;
    Status refused = Status::ok();
    ResultAnswer answer;
    {
        std::lock_guard lock(mu_);
        absorb_deliveries_locked(arrived);
        auto it = active_.find(deployment);
        if (it == active_.end() || !it->second->targets.contains(host.id))
            return Status::error(
                Code::not_found,
                "no running deployment " + std::to_string(deployment) + " for this host");
        Active& a = *it->second;
        Target& t = a.targets.at(host.id);
        if (t.state != TargetState::running)
            return Status::error(Code::illegal_transition,
                                 "this host's part of deployment " + std::to_string(deployment) +
                                     " is " + to_string(t.state) + ", not running");
        std::string reason;
        if (ok) {
            // The agent checked every chunk against the manifest it received; only this
            // comparison says that manifest was the one the job named.
            auto sha = result.find("sha256");
            std::string reported =
                sha != result.end() && sha->is_string() ? sha->get<std::string>() : "";
            if (reported != a.image.image_sha256) {
                reason = "imaging refused: the host reports an image with sha256 " +
                         (reported.empty() ? std::string("(none)") : reported.substr(0, 64)) +
                         ", the deployment's image " + a.image.name + "@" + a.image.version +
                         " has " + a.image.image_sha256;
                ok = false;
                refused = Status::error(Code::conflict, reason);
            } else {
                auto number = [&](const char* key) {
                    auto it = result.find(key);
                    return it != result.end() && it->is_number() ? it->get<double>() : 0.0;
                };
                auto bytes = std::uint64_t(std::max(0.0, number("bytes_received")));
                double seconds = number("seconds");
                std::ostringstream out;
                out.precision(1);
                // The delivery's own transport: a multicast host of a deployment taken over
                // (finished by delta) may have been served by its multicast session.
                const std::string by = t.delivery && !t.delivery->transport.empty()
                                           ? t.delivery->transport
                                           : to_string(a.record.transport);
                out << std::fixed << "imaged " << a.image.name << "@" << a.image.version << " by "
                    << by << ": " << describe_bytes(bytes) << " in " << seconds
                    << " s, sha256 verified" << describe_disk(result);
                reason = out.str();
                if (a.record.transport != Transport::torrent && !t.delivery) {
                    // Anyone holding this host's job (a stolen boot ticket's first hello) can
                    // say this much; only the sender can say it delivered.
                    t.held = true;
                    t.held_reason = reason;
                    answer.held = true;
                    answer.reason = std::string(
                                        "no delivery confirmed by the sender yet: this "
                                        "host stays imaging until its ") +
                                    to_string(a.record.transport) +
                                    " sender confirms delivering the image to it, or fails at "
                                    "the deployment's deadline";
                    event_locked(t.host, "deployment " + std::to_string(a.record.id) +
                                             ": result ok held: " + answer.reason);
                    log_locked("deployment " + std::to_string(a.record.id) + ": " + t.host.name +
                               ": result ok held: " + answer.reason);
                } else {
                    if (t.delivery) reason += ", " + describe_delivery(*t.delivery, t.delivered_by);
                    t.done = t.total;
                }
            }
        } else {
            reason = "imaging failed: " + (error.empty() ? std::string("no reason given") : error);
        }
        if (!answer.held) {
            t.held = false;
            finished = finish_target_locked(a, t, ok, reason);
            finish_if_done_locked(a);
        }
    }
    apply_writes();
    if (answer.held) return answer;
    if (!finished->status) return finished->status;
    if (!refused) return refused;
    return answer;
}

std::vector<imaging::Delivery> Orchestrator::read_deliveries() {
    std::vector<std::string> problems;
    auto found = deliveries_.poll(&problems);
    for (const auto& p : problems) log_("delivery log: " + p);
    return found;
}

void Orchestrator::absorb_deliveries_locked(const std::vector<imaging::Delivery>& deliveries,
                                            bool own, const std::string& from) {
    for (const imaging::Delivery& d : deliveries) {
        std::int64_t deployment = 0, host = 0;
        if (!parse_receiver_id(d.receiver, deployment, host)) continue;
        auto it = active_.find(deployment);
        if (it == active_.end()) {
            if (!own) continue;
            // Another server's deployment, whose host this rack server's delta server served:
            // its owner learns it through the store (rack_images.h); kept, should this server
            // take that deployment over.
            if (foreign_.add(d)) foreign_changed_ = true;
            continue;
        }
        Active& a = *it->second;
        auto t = a.targets.find(host);
        if (t == a.targets.end() || !unfinished(t->second.state)) continue;
        if (d.image_sha256 != a.image.image_sha256) {
            log_locked("deployment " + std::to_string(deployment) + ": " + t->second.host.name +
                       ": a sender confirmed delivering another image (sha256 " +
                       d.image_sha256.substr(0, 64) + "); not counted");
            continue;
        }
        t->second.delivery = d;
        t->second.delivered_by = from;
        if (!t->second.held || t->second.state != TargetState::running) continue;
        t->second.held = false;
        t->second.done = t->second.total;
        finish_target_locked(a, t->second, true,
                             t->second.held_reason + ", " + describe_delivery(d, from));
        finish_if_done_locked(a);
    }
}

void Orchestrator::event_locked(const Host& host, std::string reason) {
    Event e;
    e.host = host.id;
    e.mac = host.mac.str();
    e.reason = std::move(reason);
    writes_.queue([this, e]() mutable -> Status {
        e.time = store_.now();
        auto logged = store_.log_event(e);
        return logged ? Status::ok() : logged.status();
    });
}

std::shared_ptr<const OrderedWrites::Outcome> Orchestrator::finish_target_locked(
    Active& a, Target& t, bool ok, const std::string& reason) {
    t.state = ok ? TargetState::succeeded : TargetState::failed;
    host_deployment_.erase(t.host.id);
    DeploymentTarget row;
    row.deployment = a.record.id;
    row.host = t.host.id;
    row.state = t.state;
    row.transport = a.record.transport;
    row.bytes_done = t.done;
    row.bytes_total = t.total;
    if (!ok) row.error = reason;
    const ImageId image = a.image.id;
    auto outcome = writes_.queue([this, row, ok, reason, image]() mutable -> Status {
        return store_.transaction([&]() -> Status {
            auto host = store_.get_host(row.host);
            if (!host) return host.status();
            if (ok) {
                host->image = image;
                if (Status u = store_.update_host(*host); !u) return u;
                // The system just imaged has this deployment's Dom0 token; the one it replaced
                // is refused from now on.
                if (Status g = Authenticator::set_dom0_generation(store_, host->id, row.deployment);
                    !g)
                    return g;
            }
            if (host->state == HostState::booting || host->state == HostState::imaging) {
                HostState to = ok ? HostState::imaged : HostState::failed;
                if (auto e = store_.transition(row.host, to, reason); !e) return e.status();
            }
            row.finished_at = store_.now();
            auto stored = store_.list_targets(row.deployment);
            if (stored)
                for (const auto& r : *stored)
                    if (r.host == row.host) row.started_at = r.started_at;
            return store_.update_target(row);
        });
    });
    log_locked("deployment " + std::to_string(a.record.id) + ": " + t.host.name + ": " + reason);
    return outcome;
}

void Orchestrator::fail_unfinished_locked(Active& a, const std::string& reason) {
    for (auto& [_, t] : a.targets)
        if (unfinished(t.state)) finish_target_locked(a, t, false, reason);
    finish_if_done_locked(a);
}

void Orchestrator::finish_if_done_locked(Active& a) {
    if (a.unfinished() || a.record.state != DeploymentState::running) return;
    bool all_ok = true;
    for (const auto& [_, t] : a.targets) all_ok = all_ok && t.state == TargetState::succeeded;
    DeploymentState state = all_ok ? DeploymentState::succeeded : DeploymentState::failed;
    const DeploymentId id = a.record.id;
    writes_.queue([this, id, state] {
        Status s = store_.set_deployment_state(id, state);
        if (s && leases_) (void)leases_->release(deployment_lease(id));  // else it expires
        return s;
    });
    a.record.state = state;
    log_locked("deployment " + std::to_string(id) + " " + to_string(state));
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

void Orchestrator::fail_overdue_locked(Active& a, base::Clock::time_point now) {
    if (now - a.started_at < config_.deploy_timeout) return;
    const std::string after = std::to_string(config_.deploy_timeout.count()) + " s";
    for (auto& [_, t] : a.targets)
        if (t.held && t.state == TargetState::running)
            finish_target_locked(a, t, false,
                                 "imaging refused: no delivery confirmed by the sender (the "
                                 "agent's result ok was held; timed out after " +
                                     after + ")");
    fail_unfinished_locked(a, "timed out after " + after);
}

void Orchestrator::flush_progress_locked(Active& a, bool force) {
    const auto now = clock_.now();
    std::map<HostId, std::pair<std::uint64_t, std::uint64_t>> figures;  // done, total
    for (auto& [id, t] : a.targets) {
        if (!t.dirty || t.state != TargetState::running) continue;
        if (!force && now - t.flushed_at < kProgressFlush) continue;
        figures[id] = {t.done, t.total};
        t.dirty = false;
        t.flushed_at = now;
    }
    if (figures.empty()) return;
    const DeploymentId id = a.record.id;
    writes_.queue([this, id, figures]() -> Status {
        auto rows = store_.list_targets(id);
        if (!rows) return rows.status();
        for (DeploymentTarget row : *rows) {
            auto live = figures.find(row.host);
            // A part that ended meanwhile has its final row already.
            if (live == figures.end() || row.state != TargetState::running) continue;
            row.bytes_done = live->second.first;
            row.bytes_total = live->second.second;
            if (Status s = store_.update_target(row); !s) return s;
        }
        return Status::ok();
    });
}

std::chrono::milliseconds Orchestrator::tick_age() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::nanoseconds(nanoseconds_of(clock_.now()) - last_tick_done_.load()));
}

std::string Orchestrator::children_problem() const {
    std::lock_guard lock(health_mu_);
    return children_problem_;
}

}  // namespace provisioner::server
