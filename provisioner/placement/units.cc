#include "units.h"

#include <algorithm>
#include <numeric>
#include <string_view>
#include <unordered_map>

namespace provisioner::placement {
namespace {

int find_root(std::vector<int>& parent, int x) {
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

Status lookup_names(const std::vector<std::string>& names,
                    const std::unordered_map<std::string_view, int>& vm_index, const char* kind,
                    std::vector<int>& out) {
    out.clear();
    for (const std::string& name : names) {
        auto it = vm_index.find(name);
        if (it == vm_index.end())
            return Status::error(Code::invalid_argument,
                                 std::string(kind) + " names unknown VM \"" + name + "\"");
        out.push_back(it->second);
    }
    return Status::ok();
}

void set_problem(Unit& unit, std::string problem) {
    if (unit.problem.empty()) unit.problem = std::move(problem);
}

}  // namespace

Result<Units> make_units(const Request& request, const Ledger& ledger) {
    const int n = static_cast<int>(request.vms.size());
    std::unordered_map<std::string_view, int> vm_index;
    vm_index.reserve(request.vms.size());
    for (int i = 0; i < n; ++i) {
        const Vm& vm = request.vms[i];
        if (vm.name.empty())
            return Status::error(Code::invalid_argument,
                                 "VM #" + std::to_string(i + 1) + " has no name");
        if (vm.vcpus == 0 || vm.memory_mib == 0)
            return Status::error(Code::invalid_argument,
                                 "VM " + vm.name + " needs at least 1 vcpu and 1 MiB");
        if (!vm_index.emplace(vm.name, i).second)
            return Status::error(Code::invalid_argument, "VM " + vm.name + " is named twice");
    }

    std::vector<int> parent(n);
    std::iota(parent.begin(), parent.end(), 0);
    std::vector<int> members;
    for (const auto& group : request.together) {
        if (Status s = lookup_names(group, vm_index, "a together constraint", members); !s)
            return s;
        for (std::size_t k = 1; k < members.size(); ++k) {
            int a = find_root(parent, members[0]), b = find_root(parent, members[k]);
            if (a != b) parent[std::max(a, b)] = std::min(a, b);
        }
    }

    Units out;
    out.unit_of_vm.assign(n, -1);
    std::vector<int> unit_of_root(n, -1);
    for (int i = 0; i < n; ++i) {
        const int root = find_root(parent, i);
        if (unit_of_root[root] < 0) {
            unit_of_root[root] = static_cast<int>(out.units.size());
            out.units.emplace_back();
        }
        const int u = unit_of_root[root];
        out.unit_of_vm[i] = u;
        Unit& unit = out.units[u];
        const Vm& vm = request.vms[i];
        unit.vms.push_back(i);
        unit.demand.vcpus += vm.vcpus;
        unit.demand.memory_mib += vm.memory_mib;
        if (!vm.pinned_host.empty()) {
            const int h = ledger.find(vm.pinned_host);
            if (h < 0)
                set_problem(unit, "pinned to " + vm.pinned_host + ", which is not a known host");
            else if (unit.pinned >= 0 && unit.pinned != h)
                set_problem(unit, "its together group is pinned to two hosts, " +
                                      ledger.host(unit.pinned).name + " and " +
                                      ledger.host(h).name);
            else
                unit.pinned = h;
        }
    }
    // The running members' host, when they all run on one known host.
    for (Unit& unit : out.units) {
        bool agree = true;
        for (int i : unit.vms) {
            const Vm& vm = request.vms[i];
            if (vm.current_host.empty()) continue;
            const int h = ledger.find(vm.current_host);
            if (h < 0 || (unit.current >= 0 && unit.current != h)) agree = false;
            if (h >= 0 && unit.current < 0) unit.current = h;
        }
        if (!agree) unit.current = -1;
    }

    for (const auto& group : request.apart) {
        if (Status s = lookup_names(group, vm_index, "an apart constraint", members); !s) return s;
        for (std::size_t a = 0; a < members.size(); ++a) {
            for (std::size_t b = a + 1; b < members.size(); ++b) {
                const int ua = out.unit_of_vm[members[a]], ub = out.unit_of_vm[members[b]];
                if (members[a] == members[b])
                    return Status::error(
                        Code::invalid_argument,
                        "an apart constraint names VM " + request.vms[members[a]].name + " twice");
                if (ua == ub) {
                    set_problem(out.units[ua], "it must be both together with and apart from " +
                                                   request.vms[members[b]].name);
                    continue;
                }
                out.units[ua].apart.push_back(ub);
                out.units[ub].apart.push_back(ua);
            }
        }
    }
    for (Unit& unit : out.units) {
        std::sort(unit.apart.begin(), unit.apart.end());
        unit.apart.erase(std::unique(unit.apart.begin(), unit.apart.end()), unit.apart.end());
    }
    return out;
}

std::string together_note(const Request& request, const Unit& unit, int vm) {
    if (unit.vms.size() < 2) return "";
    std::string label = " (together with ";
    bool first = true;
    for (int other : unit.vms) {
        if (other == vm) continue;
        if (!first) label += ", ";
        label += request.vms[other].name;
        first = false;
    }
    return label + ")";
}

}  // namespace provisioner::placement
