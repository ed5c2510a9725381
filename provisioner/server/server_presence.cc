#include "server_presence.h"

#include <algorithm>
#include <map>
#include <set>

#include "auth.h"
#include "image_peers.h"
#include "rack_dhcp.h"

namespace provisioner::server {

namespace {

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

}  // namespace

const std::vector<ServerPresence::PublishedSetting>& ServerPresence::published_settings() {
    static const std::vector<PublishedSetting> settings = {
        {ImagePeers::kSettingPrefix, true},      {ImagePeers::kMulticastPrefix, true},
        {ImagePeers::kTemplatesPrefix, true},    {ImagePeers::kTorrentsPrefix, true},
        {ImagePeers::kTorrentSeedsPrefix, true}, {ImagePeers::kDeliveriesPrefix, false},
    };
    return settings;
}

const std::vector<std::string>& ServerPresence::rack_lease_prefixes() {
    static const std::vector<std::string> prefixes = {RackDhcp::presence_lease(""),
                                                      RackDhcp::dhcp_lease("")};
    return prefixes;
}

std::chrono::milliseconds ServerPresence::stale_after(std::chrono::milliseconds lease_time) {
    return std::max<std::chrono::milliseconds>(std::chrono::minutes(10), 10 * lease_time);
}

ServerPresence::ServerPresence(LeaseKeeper& leases, Store& store, base::Clock& clock,
                               std::chrono::milliseconds stale_after, Log log)
    : leases_(leases),
      store_(store),
      clock_(clock),
      stale_after_(stale_after),
      log_(std::move(log)) {}

ServerPresence::~ServerPresence() {
    if (announced_ && !serving_) (void)leave();
}

Status ServerPresence::announce() {
    auto lease = leases_.acquire(lease_name(leases_.owner()));
    if (!lease) return lease.status();
    if (lease->owner != leases_.owner())  // ids are random: a second server with ours is a bug
        return Status::error(Code::conflict,
                             "the presence lease " + lease->name + " is held by another server");
    announced_ = true;
    return Status::ok();
}

void ServerPresence::sweep_if_due() {
    const auto now = clock_.now();
    if (swept_at_ && now - *swept_at_ < std::chrono::minutes(1)) return;
    swept_at_ = now;
    if (!leases_.holds(lease_name(leases_.owner())))
        if (Status s = announce(); !s) log_("taking this server's presence lease: " + s.message());
    if (auto swept = sweep(); !swept)
        log_("sweeping the settings of stopped servers: " + swept.status().message());
    auto generations = store_.delete_settings_of_absent_hosts(Authenticator::kDom0GenerationPrefix);
    if (!generations)
        log_("sweeping the Dom0 token generations of removed hosts: " +
             generations.status().message());
    else if (!generations->empty())
        log_("swept the Dom0 token generations of " + std::to_string(generations->size()) +
             " removed host(s): " + join(*generations));
}

Result<std::vector<std::string>> ServerPresence::sweep() {
    // The keys first: a server that published one had taken its presence lease before, so the
    // leases read next show it.
    std::map<std::string, std::vector<std::string>> keys;  // server id -> its keys
    for (const PublishedSetting& setting : published_settings()) {
        auto listed = store_.list_setting_keys(setting.prefix);
        if (!listed) return listed.status();
        const std::string prefix = setting.prefix;
        for (std::string& key : *listed)
            if (key.size() > prefix.size()) keys[key.substr(prefix.size())].push_back(key);
    }
    auto rows = store_.list_leases();
    if (!rows) return rows.status();
    const Timestamp now =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_.wall_now().time_since_epoch())
            .count();
    std::map<std::string, const LeaseRow*> presence;  // server id -> its presence lease
    const std::string lease_prefix = kLeasePrefix;
    for (const LeaseRow& row : *rows)
        if (row.name.starts_with(lease_prefix) && row.name.size() > lease_prefix.size())
            presence[row.name.substr(lease_prefix.size())] = &row;
    // Only a server that held a presence lease and let it expire long ago: one with no row
    // may be an older server, running (server_presence.h).
    auto gone = [&](const std::string& server) {
        if (server == leases_.owner()) return false;
        auto p = presence.find(server);
        return p != presence.end() && p->second->expires_at + stale_after_.count() <= now;
    };
    std::set<std::string> swept;
    std::vector<std::string> removed;
    for (const auto& [server, its_keys] : keys) {
        if (!gone(server)) continue;
        for (const std::string& key : its_keys) {
            if (Status s = store_.delete_setting(key); !s) return s;
            removed.push_back(key);
        }
        swept.insert(server);
    }
    // Its rack leases nobody took over (release_lease() takes a row only from its holder: one
    // a standby took meanwhile stays). The presence rows last: were a step above to fail, the
    // next sweep finds the server again.
    for (const bool presence_rows : {false, true})
        for (const LeaseRow& row : *rows) {
            const bool rack_lease =
                std::any_of(rack_lease_prefixes().begin(), rack_lease_prefixes().end(),
                            [&](const std::string& p) { return row.name.starts_with(p); });
            const bool its_presence =
                row.name.starts_with(lease_prefix) && row.name.size() > lease_prefix.size();
            if ((presence_rows ? !its_presence : !rack_lease) || row.expires_at > now) continue;
            const std::string server =
                presence_rows ? row.name.substr(lease_prefix.size()) : row.owner;
            if (!gone(server) || row.owner != server) continue;
            if (Status s = store_.release_lease(row.name, row.owner); !s) return s;
            removed.push_back("lease " + row.name);
            swept.insert(server);
        }
    if (!swept.empty())
        log_("swept what " + std::to_string(swept.size()) + " server(s) gone for over " +
             std::to_string(stale_after_.count() / 1000) +
             " s had left in the store: " + join(removed));
    return std::vector<std::string>(swept.begin(), swept.end());
}

Status ServerPresence::withdraw() {
    for (const PublishedSetting& setting : published_settings())
        if (setting.withdrawn_at_stop)
            if (Status s = store_.delete_setting(setting.prefix + leases_.owner()); !s) return s;
    return Status::ok();
}

Status ServerPresence::leave() {
    for (const PublishedSetting& setting : published_settings())
        if (Status s = store_.delete_setting(setting.prefix + leases_.owner()); !s) {
            log_("leaving the store: " + s.message() + "; left to the sweep of stopped servers");
            return s;
        }
    if (Status s = leases_.release(lease_name(leases_.owner())); !s) {
        log_("releasing this server's presence lease: " + s.message());
        return s;
    }
    announced_ = false;
    return Status::ok();
}

}  // namespace provisioner::server
