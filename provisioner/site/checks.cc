#include "checks.h"

#include <map>
#include <numeric>
#include <set>
#include <string>
#include <unordered_map>

#include "values.h"

namespace provisioner::site {
namespace {

std::string at_line(std::size_t line) {
    return "line " + std::to_string(line);
}

// Remembers the first line of each key; reports a repeat at its own line.
class FirstSeen {
  public:
    FirstSeen(const char* what, std::vector<Problem>& problems)
        : what_(what), problems_(problems) {}
    bool add(const std::string& key, std::size_t line) {
        auto [it, inserted] = first_.emplace(key, line);
        if (!inserted)
            problems_.push_back({line, "duplicate " + std::string(what_) + " \"" + key +
                                           "\" (first at " + at_line(it->second) + ")"});
        return inserted;
    }

  private:
    const char* what_;
    std::vector<Problem>& problems_;
    std::unordered_map<std::string, std::size_t> first_;
};

void check_names(const Site& site, std::vector<Problem>& problems) {
    FirstSeen sets("set name", problems), vms("VM name", problems),
        networks("network name", problems), vlans("VLAN", problems), macs("MAC", problems),
        ips("IP", problems);
    for (const SiteSet& set : site.sets) sets.add(set.name, set.line);
    for (const Network& network : site.networks) {
        networks.add(network.name, network.line);
        if (network.vlan != 0) vlans.add(std::to_string(network.vlan), network.line);
    }
    for (const Vm& vm : site.vms) {
        if (!vm.name.empty()) vms.add(vm.name, vm.line);
        for (const Interface& nic : vm.interfaces) {
            if (!nic.hwaddr.empty()) macs.add(nic.hwaddr, nic.line);
            if (!nic.ip.empty() && nic.ip != "dhcp")
                ips.add(std::string(ip_address(nic.ip)), nic.line);
            if (!nic.network.empty() && !site.networks.empty()) {
                bool known = false;
                for (const Network& network : site.networks) known |= network.name == nic.network;
                if (!known)
                    problems.push_back(
                        {nic.line, "VM " + vm.name + ": unknown network \"" + nic.network + "\""});
            } else if (!nic.network.empty()) {
                problems.push_back({nic.line, "VM " + vm.name + ": unknown network \"" +
                                                  nic.network + "\" (the site defines none)"});
            }
        }
    }
}

class Groups {
  public:
    explicit Groups(std::size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0); }
    std::size_t root(std::size_t x) {
        while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
        return x;
    }
    void join(std::size_t a, std::size_t b) {
        a = root(a);
        b = root(b);
        if (a != b) parent_[std::max(a, b)] = std::min(a, b);
    }

  private:
    std::vector<std::size_t> parent_;
};

std::string lines_text(const std::set<std::size_t>& lines) {
    std::string text = lines.size() == 1 ? "line " : "lines ";
    bool first = true;
    for (std::size_t line : lines) {
        text += (first ? "" : ", ") + std::to_string(line);
        first = false;
    }
    return text;
}

void check_constraints(const Site& site, std::vector<Problem>& problems) {
    std::unordered_map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < site.vms.size(); ++i) index.emplace(site.vms[i].name, i);

    // Resolves a constraint's names; reports unknown and repeated ones.
    const auto members = [&](const Constraint& c) {
        std::vector<std::size_t> out;
        std::set<std::string> seen;
        for (const std::string& name : c.vms) {
            if (!seen.insert(name).second) {
                problems.push_back({c.line, "VM " + name + " is named twice in one constraint"});
                continue;
            }
            auto it = index.find(name);
            if (it == index.end())
                problems.push_back({c.line, "constraint names unknown VM \"" + name + "\""});
            else
                out.push_back(it->second);
        }
        return out;
    };

    Groups groups(site.vms.size());
    std::map<std::size_t, std::set<std::size_t>> together_lines;  // by VM
    for (const Constraint& c : site.constraints) {
        if (c.kind != Constraint::Kind::together) continue;
        const auto vms = members(c);
        for (std::size_t k = 0; k < vms.size(); ++k) {
            if (k > 0) groups.join(vms[0], vms[k]);
            together_lines[vms[k]].insert(c.line);
        }
    }
    const auto group_lines = [&](std::size_t vm) {
        std::set<std::size_t> lines;
        for (const auto& [other, other_lines] : together_lines)
            if (groups.root(other) == groups.root(vm))
                lines.insert(other_lines.begin(), other_lines.end());
        return lines;
    };

    // A together group whose VMs are pinned to different DOM0s.
    std::map<std::size_t, std::size_t> pinned_member;  // group root -> first pinned VM
    for (std::size_t i = 0; i < site.vms.size(); ++i) {
        const Vm& vm = site.vms[i];
        if (vm.dom0.empty()) continue;
        auto [it, inserted] = pinned_member.emplace(groups.root(i), i);
        const Vm& first = site.vms[it->second];
        if (!inserted && first.dom0 != vm.dom0)
            problems.push_back(
                {vm.line, "contradictory constraints: VM " + vm.name + " is pinned to " + vm.dom0 +
                              " but must be together with " + first.name + ", pinned to " +
                              first.dom0 + " (" + at_line(first.line) + "; together at " +
                              lines_text(group_lines(i)) + ")"});
    }

    for (const Constraint& c : site.constraints) {
        if (c.kind != Constraint::Kind::apart) continue;
        const auto vms = members(c);
        for (std::size_t a = 0; a < vms.size(); ++a) {
            for (std::size_t b = a + 1; b < vms.size(); ++b) {
                const Vm& va = site.vms[vms[a]];
                const Vm& vb = site.vms[vms[b]];
                if (groups.root(vms[a]) == groups.root(vms[b])) {
                    problems.push_back({c.line, "contradictory constraints: " + va.name + " and " +
                                                    vb.name +
                                                    " must be apart here but together at " +
                                                    lines_text(group_lines(vms[a]))});
                } else if (!va.dom0.empty() && va.dom0 == vb.dom0) {
                    problems.push_back(
                        {c.line, "contradictory constraints: " + va.name + " and " + vb.name +
                                     " must be apart but are both pinned to " + va.dom0});
                }
            }
        }
    }
}

}  // namespace

void check_site(const Site& site, std::vector<Problem>& problems) {
    check_names(site, problems);
    check_constraints(site, problems);
}

}  // namespace provisioner::site
