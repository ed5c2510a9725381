#include "netservice_board.h"

#include <algorithm>

#include "base/json.h"
#include "provisioner/wire/dom0.h"

namespace provisioner::server {

using Kind = wire::NetService::Kind;

wire::NetService wire_netservice(const site::NetService& s) {
    wire::NetService out;
    switch (s.kind) {
        case site::NetService::Kind::compress:
            out.kind = Kind::compress;
            break;
        case site::NetService::Kind::rate_limit:
            out.kind = Kind::rate_limit;
            break;
        case site::NetService::Kind::filter:
            out.kind = Kind::filter;
            break;
    }
    out.peer = s.peer;
    out.to = s.to;
    out.egress_bps = s.egress_bps;
    out.ingress_bps = s.ingress_bps;
    for (const site::NetAllow& a : s.allow) out.allow.push_back({a.proto, a.port, a.from});
    return out;
}

NetServiceBoard::Desired NetServiceBoard::desired_of(const site::Site& site) {
    Desired out;
    for (const site::Vm& vm : site.vms)
        for (const site::NetService& s : vm.netservices) out[vm.name].push_back(wire_netservice(s));
    return out;
}

NetServiceBoard::Placed NetServiceBoard::placed_of(
    const site::Site& site, const std::vector<placement::Assignment>& placed) {
    Placed out;
    for (const site::Vm& vm : site.vms)
        if (!vm.dom0.empty()) out[vm.name] = vm.dom0;
    for (const placement::Assignment& a : placed) out[a.vm] = a.host;
    return out;
}

void NetServiceBoard::set_placed_locked(Placed placed) {
    placed_ = std::move(placed);
    on_host_.clear();
    for (const auto& [vm, on] : placed_) on_host_[on].push_back(vm);
}

Status NetServiceBoard::load() {
    Placed placed;
    auto where = store_.get_setting(kPlacementSetting);
    if (!where && where.status().code() != Code::not_found) return where.status();
    if (where) {
        auto parsed = base::parse_json(*where, base::JsonLimits{16 << 20, 4});
        if (!parsed || !parsed.value.is_object())
            return Status::error(Code::storage, std::string(kPlacementSetting) +
                                                    ": not an object of VM names to hosts");
        for (const auto& [vm, host] : parsed.value.items()) {
            if (!host.is_string())
                return Status::error(Code::storage, std::string(kPlacementSetting) + ": " + vm +
                                                        ": its host is not a string");
            placed[vm] = host.get<std::string>();
        }
    }
    auto body = store_.get_setting(kSetting);
    if (!body && body.status().code() == Code::not_found) {
        std::lock_guard<std::mutex> hold(mu_);
        set_placed_locked(std::move(placed));
        return Status::ok();
    }
    if (!body) return body.status();
    auto parsed = base::parse_json(*body, base::JsonLimits{16 << 20, 16});
    // Stored in the answer's own shape, so it is read back with the wire's checks.
    auto answer = parsed ? wire::decode<wire::Dom0Answer>(parsed.value)
                         : Result<wire::Dom0Answer>(Status::error(Code::storage, parsed.error));
    if (!answer || !answer->netservices)
        return Status::error(
            Code::storage,
            std::string(kSetting) + ": " + (answer ? "no netservices" : answer.status().message()));
    Desired next;
    for (auto& vm : *answer->netservices) next[vm.vm] = std::move(vm.services);
    std::lock_guard<std::mutex> hold(mu_);
    desired_ = std::move(next);
    set_placed_locked(std::move(placed));
    return Status::ok();
}

Status NetServiceBoard::set_site(const site::Site& site,
                                 const std::vector<placement::Assignment>& placed) {
    Desired next = desired_of(site);
    Placed where = placed_of(site, placed);
    wire::Dom0Answer stored;
    stored.netservices.emplace();
    for (const auto& [vm, services] : next) stored.netservices->push_back({vm, services});
    std::lock_guard<std::mutex> hold(mu_);
    if (where != placed_)
        if (Status s = store_.set_setting(kPlacementSetting, nlohmann::json(where).dump()); !s)
            return s;
    set_placed_locked(std::move(where));
    if (next == desired_) return Status::ok();
    if (Status s = store_.set_setting(kSetting, wire::encode(stored).dump()); !s) return s;
    desired_ = std::move(next);
    return Status::ok();
}

std::vector<wire::VmNetServices> NetServiceBoard::for_host(
    const std::string& host, const std::string& ip,
    const std::vector<std::string>& reported) const {
    std::lock_guard<std::mutex> hold(mu_);
    std::vector<std::string> vms = reported;
    for (const std::string& where : {host, ip}) {
        if (where.empty()) continue;
        auto placed = on_host_.find(where);
        if (placed == on_host_.end()) continue;
        for (const std::string& vm : placed->second)
            if (desired_.count(vm) && std::find(vms.begin(), vms.end(), vm) == vms.end())
                vms.push_back(vm);
    }
    std::vector<wire::VmNetServices> out;
    for (const std::string& vm : vms) {
        auto it = desired_.find(vm);
        out.push_back({vm, it == desired_.end() ? std::vector<wire::NetService>{} : it->second});
    }
    return out;
}

void NetServiceBoard::reported(const std::string& vm, std::vector<wire::NetService> active) {
    std::lock_guard<std::mutex> hold(mu_);
    if (active.empty())
        active_.erase(vm);
    else
        active_[vm] = std::move(active);
}

std::vector<wire::NetService> NetServiceBoard::active(const std::string& vm) const {
    std::lock_guard<std::mutex> hold(mu_);
    auto it = active_.find(vm);
    return it == active_.end() ? std::vector<wire::NetService>{} : it->second;
}

std::vector<std::string> NetServiceBoard::changes(const site::Site& site) const {
    const Desired next = desired_of(site);
    std::lock_guard<std::mutex> hold(mu_);
    std::vector<std::string> lines;
    const auto find = [](const std::vector<wire::NetService>& list, Kind kind) {
        return std::find_if(list.begin(), list.end(),
                            [&](const wire::NetService& s) { return s.kind == kind; });
    };
    std::map<std::string, bool> vms;
    for (const auto& [vm, _] : next) vms[vm] = true;
    for (const auto& [vm, _] : active_) vms[vm] = true;
    static const std::vector<wire::NetService> none;
    for (const auto& [vm, _] : vms) {
        auto d = next.find(vm);
        auto a = active_.find(vm);
        const auto& want = d == next.end() ? none : d->second;
        const auto& have = a == active_.end() ? none : a->second;
        for (Kind kind : {Kind::compress, Kind::rate_limit, Kind::filter}) {
            auto w = find(want, kind);
            auto h = find(have, kind);
            if (w != want.end() && h == have.end())
                lines.push_back(vm + ": on " + wire::describe(*w));
            else if (w == want.end() && h != have.end())
                lines.push_back(vm + ": off " + wire::describe(*h));
            else if (w != want.end() && !(*w == *h))
                lines.push_back(vm + ": change " + wire::describe(*w));
        }
    }
    return lines;
}

}  // namespace provisioner::server
