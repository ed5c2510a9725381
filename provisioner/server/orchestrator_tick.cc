// The Orchestrator's process side: tick() and stop_all(). See the locking contract in
// orchestrator.h: decide under mu_, act on the children without it, publish under it again.
#include <fstream>
#include <iterator>

#include "hot_templates.h"
#include "imaging/torrent/image_torrent.h"
#include "listen_probe.h"
#include "orchestrator.h"
#include "orchestrator_parts.h"
#include "template_image.h"

namespace provisioner::server {

namespace {

// The imaging children's supervision: a child dying soon after its start waits 2 s, then 4,
// 8, 16 s before its next start; kMaxQuickFailures such deaths fail a sender's deployment.
constexpr std::chrono::milliseconds kRestartDelay{2000};
constexpr std::chrono::milliseconds kMaxRestartDelay{16000};
constexpr std::chrono::milliseconds kStableAfter{10000};
constexpr std::chrono::milliseconds kStopGrace{5000};
// A delta server listens on this machine: a connect answers at once, unless a firewall drops
// it, which must not hold the tick for the kernel's two minutes of SYN retries.
constexpr std::chrono::milliseconds kProbeTimeout{500};

std::string read_whole_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

void Orchestrator::tick() {
    takeover();  // before deciding: a deployment taken over starts its server in this tick
    // The template catalog (a store read) and the packed images' files, before the lock.
    const auto hot = read_hot_templates();
    prepare_template_secrets(hot);
    const auto arrived = read_deliveries();
    if (!arrived.empty()) {
        std::lock_guard lock(mu_);
        absorb_deliveries_locked(arrived);
    }
    std::vector<std::unique_ptr<Sender>> retired;
    // A second round when the first published something that starts a child (a torrent made:
    // its seed), so that it starts in this tick.
    for (int round = 0; round < 2; ++round)
        if (!tick_round(hot, retired)) break;
    apply_writes();
    retired.clear();  // their secret files go, outside the lock
    if (hot_lease_ && serving_hot_) hot_lease_->publish(listening_template_servers());
    last_tick_done_ = nanoseconds_of(clock_.now());
}

bool Orchestrator::tick_round(const std::optional<std::vector<HotTemplate>>& hot,
                              std::vector<std::unique_ptr<Sender>>& retired) {
    std::vector<ChildSpec> wanted;
    std::vector<std::uint64_t> retiring;
    {
        std::lock_guard lock(mu_);
        wanted = decide_locked(hot, retiring);
    }
    apply_writes();
    std::vector<std::uint64_t> gone;
    auto reports = act(wanted, retiring, gone);
    std::lock_guard lock(mu_);
    return publish_locked(reports, gone, retired);
}

std::map<TemplateId, TemplateDelta> Orchestrator::listening_template_servers() {
    std::map<TemplateId, TemplateDelta> out;
    std::lock_guard lock(mu_);
    for (const auto& [source, s] : delta_servers_)
        if (source.kind == DeltaSource::Kind::template_image && s->listening && s->secret)
            out[source.id] = {server_host() + ":" + std::to_string(s->port.number()),
                              imaging::secret_to_hex(*s->secret)};
    return out;
}

std::optional<std::vector<Orchestrator::HotTemplate>> Orchestrator::read_hot_templates() {
    if (hot_lease_) {
        serving_hot_ = hot_lease_->serve();
        if (!serving_hot_) return std::vector<HotTemplate>{};  // their servers stop here
    }
    auto catalog = store_.list_templates();
    if (!catalog) {
        log_("reading the template catalog: " + catalog.status().message());
        return std::nullopt;
    }
    std::vector<HotTemplate> hot;
    for (const Template& t : hot_templates(*catalog, store_.now(), config_.template_cool_down)) {
        const auto dir = template_image_dir(config_.state_dir / "templates", t.ref());
        std::error_code ec;
        if (!std::filesystem::exists(dir / "manifest.json", ec)) continue;
        hot.push_back({{DeltaSource::Kind::template_image, t.id}, t.ref(), dir.string()});
    }
    return hot;
}

void Orchestrator::prepare_template_secrets(const std::optional<std::vector<HotTemplate>>& hot) {
    if (!hot) return;  // the catalog did not read: nothing changes
    std::vector<DeltaSource> missing;
    std::vector<std::filesystem::path> unused;
    {
        std::lock_guard lock(mu_);
        std::set<DeltaSource> hot_sources;
        for (const HotTemplate& t : *hot) {
            hot_sources.insert(t.source);
            if (!delta_servers_.contains(t.source) && !template_secrets_.contains(t.source))
                missing.push_back(t.source);
        }
        std::erase_if(template_secrets_, [&](const auto& entry) {
            if (hot_sources.contains(entry.first)) return false;
            unused.push_back(entry.second.second);
            return true;
        });
    }
    std::error_code ec;
    for (const auto& file : unused) std::filesystem::remove(file, ec);
    std::map<DeltaSource, Secret> made;
    for (const DeltaSource& source : missing) {
        auto secret = make_secret("delta-template-" + std::to_string(source.id) + "-" +
                                  std::to_string(++next_secret_));
        if (secret)
            made.emplace(source, std::move(*secret));
        else  // the template waits, unserved: a server without a secret would serve anyone
            log_("no secret for the delta server of template " + std::to_string(source.id) + ": " +
                 secret.status().message());
    }
    std::lock_guard lock(mu_);
    template_secrets_.merge(made);
}

void Orchestrator::retire_locked(std::unique_ptr<Sender> sender) {
    const std::uint64_t key = sender->child;
    retiring_.emplace(key, std::move(sender));
}

std::vector<Orchestrator::ChildSpec> Orchestrator::decide_locked(
    const std::optional<std::vector<HotTemplate>>& hot, std::vector<std::uint64_t>& retiring) {
    std::vector<ChildSpec> wanted;
    const auto now = clock_.now();
    for (auto it = active_.begin(); it != active_.end();) {
        Active& a = *it->second;
        if (a.record.state == DeploymentState::running) fail_overdue_locked(a, now);
        if (a.record.state != DeploymentState::running) {
            if (a.sender) retire_locked(std::move(a.sender));
            if (tracker_ && !a.info_hash.empty()) tracker_->forget(a.info_hash);
            it = active_.erase(it);  // its torrent maker, if any, is no longer wanted
            continue;
        }
        const std::string id = std::to_string(a.record.id);
        if (a.record.transport == Transport::torrent && !a.torrent && !a.torrent_failed)
            // Hashing a whole image takes seconds to minutes: a job that later ticks reap.
            wanted.push_back(
                {a.torrent_maker,
                 "torrent maker of deployment " + id,
                 {config_.imaging_binary.string(), "torrent", a.image.path, "--tracker",
                  config_.boot_url + "/announce", "--out", a.torrent_file.string(), "--piece-size",
                  "1024", "--ca-cert", a.torrent_ca_file().string()},
                 true,
                 a.torrent_file,
                 0,
                 a.torrent_ca_file(),
                 a.swarm ? a.swarm->ca_cert_pem : std::string()});
        // Multicast: with hosts in another server's racks, this server's own sender waits
        // until a host needs it (hello()): those hosts may all image from their rack's session.
        // It runs while a host it serves is unfinished (one back from a dead rack server's
        // session starts it again), not for nobody once the others are done.
        if (a.record.transport == Transport::multicast && !a.own_session_wanted)
            a.own_session_wanted = !has_foreign_rack_hosts_locked(a);
        const std::size_t own =
            a.record.transport == Transport::multicast ? own_receivers_locked(a) : 0;
        if (a.sender && a.record.transport == Transport::multicast &&
            (!a.own_session_wanted || own == 0)) {
            a.sender->pid.reset();  // not ready for a hello: it starts at the next tick
        } else if (a.sender && (a.record.transport != Transport::torrent || a.torrent)) {
            Sender& s = *a.sender;
            if (a.record.transport == Transport::multicast)
                s.argv = multicast_argv_locked(a.image.path, a.group, s, own);
            wanted.push_back({s.child, s.name, s.argv, false, {}, 0});
        }
        flush_progress_locked(a, false);
        ++it;
    }
    // A rack server's multicast senders of its copies, for other servers' deployments: each
    // while a host of its has no delivery confirmed (its session over, not again for nobody).
    for (auto& [id, r] : rack_multicast_) {
        Sender& s = *r.sender;
        std::size_t waiting = 0;
        for (HostId host : r.hosts)
            waiting += !foreign_.contains(receiver_id_of(id, host), r.image.image_sha256);
        if (waiting == 0) {
            s.pid.reset();  // not published: a host asking again goes to the owner's session
            continue;
        }
        s.argv = multicast_argv_locked(image_dir_locked(r.image), r.group, s, waiting);
        wanted.push_back({s.child, s.name, s.argv, false, {}, 0});
    }
    // A rack server's seeds of its copies, for other servers' torrent deployments (stopped by
    // set_rack_torrents() once their hosts here are done).
    for (auto& [_, r] : rack_torrents_)
        wanted.push_back({r.sender->child, r.sender->name, r.sender->argv, false, {}, 0});
    // Delta servers of images run while a running deployment (or one being recorded) uses
    // their image: a delta deployment, or any with hosts in another server's racks (whose
    // server fetches the image from here).
    keep_delta_servers_locked(
        DeltaSource::Kind::image,
        [&](const DeltaSource& source) {
            if (deploying_images_.contains(source.id) || rack_images_.contains(source.id))
                return true;
            for (const auto& entry : active_) {
                const Active& a = *entry.second;
                if (a.image.id == source.id &&
                    (a.record.transport == Transport::delta || has_foreign_rack_hosts_locked(a)))
                    return true;
            }
            return false;
        },
        "", wanted);
    // A rack server's delta servers of its template copies, while set_rack_templates() names
    // them.
    keep_delta_servers_locked(
        DeltaSource::Kind::rack_template,
        [&](const DeltaSource& source) { return rack_templates_.contains(source.id); },
        "no longer hot, or no longer held here", wanted);
    if (hot) {
        decide_template_servers_locked(*hot, wanted);
    } else {  // the catalog did not read: the template servers stay as they are
        for (const auto& [source, s] : delta_servers_)
            if (source.kind == DeltaSource::Kind::template_image)
                wanted.push_back({s->child, s->name, s->argv, false, {}, s->port.number()});
    }
    for (const auto& [key, _] : retiring_) retiring.push_back(key);
    return wanted;
}

std::vector<std::string> Orchestrator::multicast_argv_locked(const std::string& image_dir,
                                                             const std::string& group,
                                                             const Sender& s,
                                                             std::size_t receivers) const {
    std::vector<std::string> argv = {config_.imaging_binary.string(),
                                     "send",
                                     "--transport",
                                     "multicast",
                                     "--image",
                                     image_dir,
                                     "--interface",
                                     config_.multicast_interface,
                                     "--group",
                                     group,
                                     "--port",
                                     std::to_string(s.port.number()),
                                     "--min-receivers",
                                     std::to_string(receivers),
                                     "--max-wait",
                                     std::to_string(config_.multicast_max_wait)};
    if (!config_.multicast_max_rate.empty())
        argv.insert(argv.end(), {"--max-rate", config_.multicast_max_rate});
    if (!s.secret_file.empty()) argv.insert(argv.end(), {"--secret-file", s.secret_file.string()});
    if (!s.receipt_secret_file.empty())
        argv.insert(argv.end(), {"--receipt-secret-file", s.receipt_secret_file.string(),
                                 "--delivery-log", s.delivery_log.string()});
    return argv;
}

// Template servers run while their template is hot and packed. The catalog is small: it is
// read at every tick, so that a removed template's server stops at once.
void Orchestrator::decide_template_servers_locked(const std::vector<HotTemplate>& hot,
                                                  std::vector<ChildSpec>& wanted) {
    std::set<DeltaSource> hot_sources;
    for (const HotTemplate& t : hot) {
        hot_sources.insert(t.source);
        if (delta_servers_.contains(t.source)) continue;
        auto secret = template_secrets_.find(t.source);
        if (secret == template_secrets_.end()) continue;  // made before the next tick's lock
        auto server = new_delta_server_locked(t.source, "delta server for template " + t.ref,
                                              t.image_dir, secret->second);
        if (!server) {
            if (portless_templates_.insert(t.source).second)
                log_locked(server.status().message() + "; it starts once one is free");
            continue;
        }
        portless_templates_.erase(t.source);
        template_secrets_.erase(secret);  // the server owns its file now
        delta_servers_.emplace(t.source, std::move(*server));
    }
    std::erase_if(portless_templates_,
                  [&](const DeltaSource& s) { return !hot_sources.contains(s); });
    keep_delta_servers_locked(
        DeltaSource::Kind::template_image,
        [&](const DeltaSource& source) { return hot_sources.contains(source); }, "no longer hot",
        wanted);
}

void Orchestrator::keep_delta_servers_locked(DeltaSource::Kind kind,
                                             const std::function<bool(const DeltaSource&)>& keep,
                                             const std::string& why,
                                             std::vector<ChildSpec>& wanted) {
    for (auto it = delta_servers_.begin(); it != delta_servers_.end();) {
        if (it->first.kind != kind) {
            ++it;
        } else if (!keep(it->first)) {
            if (!why.empty()) log_locked("stopping " + it->second->name + ": " + why);
            retire_locked(std::move(it->second));
            it = delta_servers_.erase(it);
        } else {
            const Sender& s = *it->second;
            wanted.push_back({s.child, s.name, s.argv, false, {}, s.port.number()});
            ++it;
        }
    }
}

std::vector<Orchestrator::ChildReport> Orchestrator::act(const std::vector<ChildSpec>& wanted,
                                                         const std::vector<std::uint64_t>& retiring,
                                                         std::vector<std::uint64_t>& gone) {
    std::vector<ChildReport> reports;
    std::set<std::uint64_t> wanted_keys;
    for (const ChildSpec& spec : wanted) {
        wanted_keys.insert(spec.key);
        ChildReport r;
        r.key = spec.key;
        r.name = spec.name;
        auto it = children_.find(spec.key);
        if (it == children_.end()) {
            pxe::SupervisorOptions options;
            options.argv = spec.argv;
            options.name = spec.name;
            options.initial_backoff = kRestartDelay;
            options.max_backoff = kMaxRestartDelay;
            options.stable_after = kStableAfter;
            options.stop_timeout = kStopGrace;
            options.restart = !spec.job;
            options.retry_failed_start = !spec.job;
            options.log = log_;
            if (spec.job) {
                std::error_code ec;
                std::filesystem::create_directories(spec.job_output.parent_path(), ec);
                if (!spec.input_file.empty()) {
                    std::ofstream input(spec.input_file, std::ios::binary | std::ios::trunc);
                    input << spec.input_text;
                    input.close();
                    if (!input) {
                        r.job_done = true;
                        r.job_error = "cannot write " + spec.input_file.string();
                        log_(spec.name + ": " + r.job_error);
                        reports.push_back(std::move(r));
                        continue;
                    }
                }
            }
            auto supervisor = std::make_unique<pxe::Supervisor>(options, launcher_, clock_);
            // A service's failed start is logged and retried by its supervisor; a job's ends it.
            const imaging::Status started = supervisor->start();
            if (!started && spec.job) {
                log_(started.message());
                r.job_done = true;
                r.job_error = started.message();
                reports.push_back(std::move(r));
                continue;
            }
            Child child;
            child.supervisor = std::move(supervisor);
            it = children_.emplace(spec.key, std::move(child)).first;
        } else {
            it->second.supervisor->set_argv(spec.argv);
            it->second.supervisor->poll();
        }
        Child& child = it->second;
        const pxe::Supervisor& supervisor = *child.supervisor;
        r.pid = supervisor.pid();
        r.quick_deaths = supervisor.quick_deaths();
        r.last_exit = supervisor.last_exit();
        if (spec.probe_port) {
            if (child.probed_pid != r.pid) child.listening = false;
            child.probed_pid = r.pid;
            if (r.pid && !child.listening)
                child.listening = accepts_connections(bind_host(), spec.probe_port, kProbeTimeout);
            r.listening = child.listening;
        }
        if (spec.job && supervisor.exit_status()) {
            const pxe::ExitStatus exit = *supervisor.exit_status();
            r.job_done = true;
            r.job_output = read_whole_file(spec.job_output);
            r.job_ok = exit.kind == pxe::ExitStatus::Kind::kExited && exit.value == 0 &&
                       !r.job_output.empty();
            if (!r.job_ok) r.job_error = exit.describe();
            if (r.job_ok) {
                auto t = imaging::torrent::load_image_torrent_unverified(
                    {r.job_output.data(), r.job_output.size()});
                if (t)
                    r.info_hash = t->info_hash;
                else
                    log_(spec.name + ": its torrent does not read back (" + t.status().message() +
                         "); the tracker will refuse it");
            }
            children_.erase(it);
        }
        reports.push_back(std::move(r));
    }
    for (auto it = children_.begin(); it != children_.end();) {
        if (wanted_keys.contains(it->first)) {
            ++it;
            continue;
        }
        it->second.supervisor->terminate();
        it->second.supervisor->poll();
        if (it->second.supervisor->stopped()) {
            gone.push_back(it->first);
            it = children_.erase(it);
        } else {
            ++it;
        }
    }
    for (std::uint64_t key : retiring)
        if (!children_.contains(key)) gone.push_back(key);
    return reports;
}

bool Orchestrator::publish_locked(std::vector<ChildReport>& reports,
                                  const std::vector<std::uint64_t>& gone,
                                  std::vector<std::unique_ptr<Sender>>& retired) {
    bool changed = false;
    std::map<std::uint64_t, Sender*> senders;
    std::map<std::uint64_t, Active*> owners;  // a deployment's sender or torrent maker
    for (auto& [_, a] : active_) {
        if (a->sender) {
            senders[a->sender->child] = a->sender.get();
            owners[a->sender->child] = a.get();
        }
        if (a->torrent_maker) owners[a->torrent_maker] = a.get();
    }
    for (auto& [_, s] : delta_servers_) senders[s->child] = s.get();
    for (auto& [_, r] : rack_multicast_) senders[r.sender->child] = r.sender.get();
    for (auto& [_, r] : rack_torrents_) senders[r.sender->child] = r.sender.get();
    std::string problem;
    for (ChildReport& r : reports) {
        if (r.quick_deaths >= kChildDeathsUnhealthy)
            problem += (problem.empty() ? "" : "; ") + r.name + " keeps dying: " + r.last_exit +
                       " (" + std::to_string(r.quick_deaths) + " times in a row)";
        auto owner = owners.find(r.key);
        // A deployment that ended meanwhile learns nothing more.
        Active* a = owner != owners.end() && owner->second->record.state == DeploymentState::running
                        ? owner->second
                        : nullptr;
        if (r.job_done) {
            if (!a || a->torrent_maker != r.key) continue;
            if (!r.job_ok) {
                a->torrent_failed = true;
                fail_unfinished_locked(*a, "making the torrent failed: " + r.job_error);
                continue;
            }
            a->torrent = std::move(r.job_output);
            a->info_hash = r.info_hash;
            if (tracker_ && !a->info_hash.empty()) tracker_->allow(a->info_hash);
            a->sender->argv = {config_.imaging_binary.string(),
                               "seed",
                               "--image",
                               a->image.path,
                               "--torrent",
                               a->torrent_file.string(),
                               "--listen",
                               "0.0.0.0:" + std::to_string(a->sender->port.number()),
                               "--super-seed"};
            if (a->swarm)  // its certificate, signed by the swarm's CA (the torrent carries it)
                a->sender->argv.insert(a->sender->argv.end(),
                                       {"--peer-cert", a->sender->secret_file.string()});
            changed = true;
            continue;
        }
        auto s = senders.find(r.key);
        if (s == senders.end()) continue;
        s->second->pid = r.pid;
        s->second->listening = r.listening;
        if (a && a->sender.get() == s->second && r.quick_deaths >= kMaxQuickFailures)
            fail_unfinished_locked(*a, r.name + " keeps failing: " + r.last_exit);
    }
    for (std::uint64_t key : gone) {
        auto it = retiring_.find(key);
        if (it == retiring_.end()) continue;
        it->second->port = PortLease();  // the pool is mu_'s
        retired.push_back(std::move(it->second));
        retiring_.erase(it);
    }
    std::lock_guard health(health_mu_);
    children_problem_ = std::move(problem);
    return changed;
}

void Orchestrator::stop_all() {
    {
        std::lock_guard lock(mu_);
        for (auto& [_, a] : active_) flush_progress_locked(*a, true);
    }
    apply_writes();
    for (auto& [_, child] : children_) child.supervisor->terminate();
    // Each gets SIGKILL kStopGrace after its SIGTERM (in poll); past twice that, give up.
    const auto give_up = clock_.now() + 2 * kStopGrace + std::chrono::seconds(1);
    while (!children_.empty()) {
        std::erase_if(children_, [](auto& entry) {
            entry.second.supervisor->poll();
            return entry.second.supervisor->stopped();
        });
        if (children_.empty() || clock_.now() > give_up) break;
        clock_.sleep_for(std::chrono::milliseconds(20));
    }
    children_.clear();  // a child that outlived SIGKILL is given up, logged by its supervisor
    std::vector<std::unique_ptr<Sender>> retired;
    {
        std::lock_guard lock(mu_);
        for (auto& [_, a] : active_)
            if (a->sender) a->sender->pid.reset();
        for (auto& [_, s] : delta_servers_) s->pid.reset(), s->listening = false;
        for (auto& [_, r] : rack_multicast_) r.sender->pid.reset();
        for (auto& [_, r] : rack_torrents_) {
            r.sender->pid.reset();
            std::error_code
                ec;  // the seed is gone: its torrent file goes too (a copy of the owner's)
            std::filesystem::remove(r.torrent_file, ec);
        }
        for (auto& [_, s] : retiring_) {
            s->port = PortLease();
            retired.push_back(std::move(s));
        }
        retiring_.clear();
    }
}

}  // namespace provisioner::server
