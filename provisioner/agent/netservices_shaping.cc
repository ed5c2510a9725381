#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "netservices_parts.h"

namespace provisioner::agent::netsvc {
namespace {

using Argv = std::vector<std::string>;

// tbf's bucket: 20 ms at the rate, at least 16 KiB (several full frames: smaller starves
// TCP at high rates, where the timer cannot refill it often enough).
std::string burst_for(std::uint64_t bps) {
    return std::to_string(std::max<std::uint64_t>(bps / 8 / 50, 16384));
}

Argv tbf(const std::string& dev, std::uint64_t bps) {
    return {"tc",
            "qdisc",
            "replace",
            "dev",
            dev,
            "root",
            "handle",
            kRootHandle,
            "tbf",
            "rate",
            std::to_string(bps) + "bit",
            "burst",
            burst_for(bps),
            "latency",
            "50ms"};
}

bool has_our_root(NetCommands& commands, const std::string& dev) {
    auto listed = commands.run({"tc", "-j", "qdisc", "show", "dev", dev});
    if (!listed) return false;
    auto parsed = nlohmann::json::parse(*listed, nullptr, false);
    if (!parsed.is_array()) return false;
    return std::any_of(parsed.begin(), parsed.end(), [](const nlohmann::json& q) {
        return q.is_object() && q.value("root", false) && q.value("handle", "") == kRootHandle;
    });
}

// Our filter on the interface's ingress, and whether another filter shares the qdisc.
struct IngressUse {
    bool ours = false;
    bool others = false;
};

IngressUse ingress_use(NetCommands& commands, const std::string& dev) {
    IngressUse use;
    auto listed = commands.run({"tc", "filter", "show", "dev", dev, "ingress"});
    if (!listed) return use;
    std::size_t at = 0;
    const std::string mark = std::string("pref ") + kIngressPref + " ";
    while ((at = listed->find("pref ", at)) != std::string::npos) {
        (listed->compare(at, mark.size(), mark) == 0 ? use.ours : use.others) = true;
        at += 5;
    }
    return use;
}

Status run_all(NetCommands& commands, const std::vector<Argv>& steps) {
    for (const Argv& argv : steps)
        if (auto r = commands.run(argv); !r) return r.status();
    return Status::ok();
}

void remove_ingress(NetCommands& commands, const std::string& dev) {
    IngressUse use = ingress_use(commands, dev);
    if (!use.ours) return;
    if (use.others)
        (void)commands.run(
            {"tc", "filter", "del", "dev", dev, "parent", "ffff:", "pref", kIngressPref});
    else
        (void)commands.run({"tc", "qdisc", "del", "dev", dev, "ingress"});
}

}  // namespace

Status apply_shaping(NetCommands& commands, const std::string& vm, const std::string& interface,
                     const wire::NetService& limit) {
    if (limit.ingress_bps) {
        if (Status s = run_all(commands, {tbf(interface, limit.ingress_bps)}); !s) return s;
    } else if (has_our_root(commands, interface)) {
        if (Status s = run_all(commands, {{"tc", "qdisc", "del", "dev", interface, "root"}}); !s)
            return s;
    }
    const std::string ifb = ifb_name(vm);
    if (!limit.egress_bps) {
        remove_ingress(commands, interface);
        if (commands.link_exists(ifb)) (void)commands.run({"ip", "link", "del", ifb});
        return Status::ok();
    }
    std::vector<Argv> steps;
    if (!commands.link_exists(ifb)) steps.push_back({"ip", "link", "add", ifb, "type", "ifb"});
    steps.push_back({"ip", "link", "set", ifb, "up"});
    steps.push_back(tbf(ifb, limit.egress_bps));
    steps.push_back({"tc", "qdisc", "replace", "dev", interface, "handle", "ffff:", "ingress"});
    if (ingress_use(commands, interface).ours)
        steps.push_back(
            {"tc", "filter", "del", "dev", interface, "parent", "ffff:", "pref", kIngressPref});
    steps.push_back({"tc",     "filter",   "add",        "dev",      interface, "parent",
                     "ffff:",  "pref",     kIngressPref, "protocol", "all",     "u32",
                     "match",  "u32",      "0",          "0",        "action",  "mirred",
                     "egress", "redirect", "dev",        ifb});
    return run_all(commands, steps);
}

void remove_shaping(NetCommands& commands, const std::string& vm, const std::string& interface) {
    if (commands.link_exists(interface)) {
        if (has_our_root(commands, interface))
            (void)commands.run({"tc", "qdisc", "del", "dev", interface, "root"});
        remove_ingress(commands, interface);
    }
    const std::string ifb = ifb_name(vm);
    if (commands.link_exists(ifb)) (void)commands.run({"ip", "link", "del", ifb});
}

void sweep_shaping(NetCommands& commands, const std::map<std::string, std::string>& keep) {
    auto listed = commands.run({"ip", "-j", "link", "show"});
    if (!listed) return;
    auto links = nlohmann::json::parse(*listed, nullptr, false);
    if (!links.is_array()) return;
    std::set<std::string> kept_ifbs;
    for (const auto& [interface, vm] : keep) kept_ifbs.insert(ifb_name(vm));
    for (const auto& link : links) {
        if (!link.is_object()) continue;
        const std::string name = link.value("ifname", "");
        if (name.empty() || keep.count(name)) continue;
        if (name.rfind(kIfbPrefix, 0) == 0) {
            if (!kept_ifbs.count(name)) (void)commands.run({"ip", "link", "del", name});
            continue;
        }
        if (has_our_root(commands, name))
            (void)commands.run({"tc", "qdisc", "del", "dev", name, "root"});
        remove_ingress(commands, name);
    }
}

}  // namespace provisioner::agent::netsvc
