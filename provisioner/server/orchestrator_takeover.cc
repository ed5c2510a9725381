// The Orchestrator's ownership of deployments (orchestrator.h, lease_keeper.h): renewing this
// server's leases, letting go of what another server took, and taking over the deployments of
// servers whose leases expired. A deployment carries on where it stood, by delta whatever its
// transport was: each agent's next hello gets a job naming this server's delta server, and
// the delta transfer writes only what the host's disk still lacks.
#include "orchestrator.h"
#include "orchestrator_parts.h"

namespace provisioner::server {

namespace {

constexpr std::chrono::seconds kTakeoverScan{1};

bool unfinished_part(TargetState s) {
    return s == TargetState::pending || s == TargetState::running;
}

}  // namespace

bool Orchestrator::running_elsewhere(DeploymentId deployment, HostId host) {
    {
        std::lock_guard lock(mu_);
        if (active_.contains(deployment)) return false;
    }
    auto d = store_.get_deployment(deployment);
    if (!d || d->state != DeploymentState::running) return false;
    auto rows = store_.list_targets(deployment);
    if (!rows) return false;
    for (const DeploymentTarget& r : *rows)
        if (r.host == host) return unfinished_part(r.state);
    return false;
}

void Orchestrator::takeover() {
    if (!leases_) return;
    auto lost = leases_->renew_if_due();
    if (!lost)
        log_("renewing this server's leases: " + lost.status().message());
    else if (!lost->empty())
        drop_lost(*lost);
    const auto now = clock_.now();
    if (now < next_takeover_scan_) return;
    next_takeover_scan_ = now + kTakeoverScan;
    auto expired = leases_->expired(kDeploymentLeasePrefix);
    if (!expired) {
        log_("reading the leases: " + expired.status().message());
        return;
    }
    for (const LeaseRow& row : *expired) {
        const DeploymentId id = deployment_of_lease(row.name);
        if (!id) continue;
        auto lease = leases_->acquire(row.name);
        if (!lease) {
            log_("taking over " + row.name + ": " + lease.status().message());
            continue;
        }
        if (lease->owner != leases_->owner()) continue;  // another server was first
        if (Status s = adopt(*lease, id); !s) {
            log_("taking over deployment " + std::to_string(id) + ": " + s.message());
            // Left to the next scan, or to another server once this one stops renewing it.
            (void)leases_->release(row.name);
        }
    }
}

void Orchestrator::drop_lost(const std::vector<std::string>& lease_names) {
    {
        std::lock_guard lock(mu_);
        for (const std::string& name : lease_names) {
            auto it = active_.find(deployment_of_lease(name));
            if (it == active_.end()) continue;
            Active& a = *it->second;
            for (auto& [host, t] : a.targets)
                if (unfinished_part(t.state)) host_deployment_.erase(host);
            // Ended here alone (the store is the new owner's to write): the process side stops
            // its sender and forgets it.
            a.record.state = DeploymentState::interrupted;
            log_locked("deployment " + std::to_string(a.record.id) +
                       ": another server took it over while this one did not renew its lease; "
                       "no longer driven here");
        }
    }
    apply_writes();
}

Status Orchestrator::adopt(const LeaseRow& lease, DeploymentId id) {
    auto d = store_.get_deployment(id);
    if (!d) return d.status();
    if (d->state != DeploymentState::running) return leases_->release(lease.name);  // over
    const std::string from = lease.taken_from.empty() ? "a server" : lease.taken_from;
    const std::string took = "deployment " + std::to_string(id) + " taken over by " +
                             leases_->owner() + " from " + from + " (its lease expired)";
    // A multicast or BitTorrent deployment's sender, session secrets and swarm certificates
    // died with its server; each unfinished host is finished by delta from here, from what its
    // disk holds (both write verified chunks straight to the disk, so delta sends only the
    // rest). Its agent asks for the job again once its transfer breaks off (the multicast
    // receiver after its silence timeout, the torrent one when the swarm stalls) and gets a
    // delta job. The store keeps the deployment's transport; each host's part records delta.
    const bool by_delta_now = d->transport != Transport::delta;
    auto image = store_.get_image(d->image);
    if (!image) return image.status();
    auto rows = store_.list_targets(id);
    if (!rows) return rows.status();
    std::vector<std::pair<DeploymentTarget, Host>> parts;
    for (const DeploymentTarget& r : *rows) {
        auto host = store_.get_host(r.host);
        if (!host) return host.status();
        parts.emplace_back(r, *host);
    }
    const DeltaSource source{DeltaSource::Kind::image, image->id};
    std::optional<Secret> secret;
    bool need_server = false;
    {
        std::lock_guard lock(mu_);
        need_server = !delta_servers_.contains(source);
    }
    if (need_server) {
        auto made = make_secret("delta-image-" + std::to_string(image->id) + "-" +
                                std::to_string(++next_secret_));
        if (!made) return made.status();
        secret = std::move(*made);
    }
    struct RemoveUnused {  // a secret no server took; after the lock is released
        std::optional<Secret>& secret;
        ~RemoveUnused() {
            std::error_code ec;
            if (secret) std::filesystem::remove(secret->second, ec);
        }
    } remove_unused{secret};
    std::size_t resumed = 0;
    {
        std::lock_guard lock(mu_);
        if (active_.contains(id)) return Status::ok();
        for (const auto& [row, host] : parts)
            if (unfinished_part(row.state) && host_deployment_.contains(host.id))
                return Status::error(Code::conflict, "host " + host.name +
                                                         " is in running deployment " +
                                                         std::to_string(host_deployment_[host.id]));
        if (!delta_servers_.contains(source)) {
            auto server = new_delta_server_locked(
                source, "delta server for " + image->name + "@" + image->version, image_dir_locked(*image),
                std::exchange(secret, std::nullopt));
            if (!server) return server.status();
            delta_servers_.emplace(source, std::move(*server));
        }
        auto a = std::make_unique<Active>();
        a->record = *d;
        a->record.transport = Transport::delta;
        a->image = *image;
        // Its deadline and its boot tickets' lifetime count from the takeover.
        a->started_at = clock_.now();
        a->taken_from = lease.taken_from;  // its hosts are never sent to its copy again
        for (const auto& [row, host] : parts) {
            Target t;
            t.host = host;
            t.state = row.state;
            t.done = row.bytes_done;
            t.total = row.bytes_total ? row.bytes_total : image->stored_size;
            if (unfinished_part(t.state)) {
                t.adopted = true;
                host_deployment_[host.id] = id;
                event_locked(host, by_delta_now ? took + ": finished by delta from what its disk holds"
                                                : took);
                ++resumed;
            }
            a->targets.emplace(host.id, std::move(t));
        }
        log_locked(took + ": " + std::to_string(resumed) + " host(s) to finish by delta" +
                   (by_delta_now ? std::string(" (its ") + to_string(d->transport) +
                                       " sender died with its server; delta sends each host "
                                       "what its disk lacks)"
                                 : ""));
        active_.emplace(id, std::move(a));
        // What this server's own delta server delivered to its hosts while another owned it.
        absorb_deliveries_locked(foreign_.all());
        finish_if_done_locked(*active_.at(id));  // every part had ended: only the state was left
    }
    apply_writes();
    return Status::ok();
}

void Orchestrator::resumed_locked(Active& a, Target& t) {
    event_locked(t.host, "deployment " + std::to_string(a.record.id) + ": imaging resumed under " +
                             (leases_ ? leases_->owner() : std::string("this server")) +
                             " (its first progress since the takeover)");
}

}  // namespace provisioner::server
