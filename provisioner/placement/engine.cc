#include "engine.h"

#include <algorithm>
#include <limits>

#include "units.h"

namespace provisioner::placement {
namespace {

std::string demand_text(const Demand& d) {
    return std::to_string(d.vcpus) + " vcpus / " + std::to_string(d.memory_mib) + " MiB";
}

// Hosts of the already placed units that `unit` must stay apart from.
std::vector<int> excluded_hosts(const Unit& unit, const std::vector<int>& unit_host) {
    std::vector<int> out;
    for (int other : unit.apart)
        if (unit_host[other] >= 0) out.push_back(unit_host[other]);
    return out;
}

// The first VM that `unit` must be apart from and that is placed on `host`, or "".
std::string apart_blocker(const Request& request, const Units& units, const Unit& unit,
                          const std::vector<int>& unit_host, int host) {
    for (int other : unit.apart)
        if (unit_host[other] == host) return request.vms[units.units[other].vms.front()].name;
    return "";
}

class Engine {
  public:
    Engine(const Request& request, Ledger ledger, Units units, Chooser& chooser)
        : request_(request),
          ledger_(std::move(ledger)),
          units_(std::move(units)),
          chooser_(chooser),
          unit_host_(units_.units.size(), -1),
          unit_reason_(units_.units.size()),
          unit_problem_(units_.units.size()) {}

    Placement run() {
        for (std::size_t u = 0; u < units_.units.size(); ++u) {
            if (!units_.units[u].problem.empty()) unit_problem_[u] = units_.units[u].problem;
        }
        place_pinned();
        place_staying();
        place_rest();
        return result();
    }

  private:
    bool open(std::size_t u) const { return unit_host_[u] < 0 && unit_problem_[u].empty(); }

    void assign(std::size_t u, int host, std::string reason) {
        ledger_.add(host, units_.units[u].demand);
        unit_host_[u] = host;
        unit_reason_[u] = std::move(reason);
    }

    void place_pinned() {
        for (std::size_t u = 0; u < units_.units.size(); ++u) {
            const Unit& unit = units_.units[u];
            if (!open(u) || unit.pinned < 0) continue;
            const int h = unit.pinned;
            const std::string name = ledger_.host(h).name;
            if (auto blocker = apart_blocker(request_, units_, unit, unit_host_, h);
                !blocker.empty()) {
                unit_problem_[u] = "pinned to " + name + ", but must be apart from " + blocker +
                                   ", which is placed there";
            } else if (!ledger_.fits(h, unit.demand)) {
                unit_problem_[u] = "pinned to " + name + ", which cannot take " +
                                   demand_text(unit.demand) + " (" + ledger_.free_text(h) + ")";
            } else {
                assign(u, h, "pinned to " + name + " by DOM0");
            }
        }
    }

    void place_staying() {
        for (std::size_t u = 0; u < units_.units.size(); ++u) {
            const Unit& unit = units_.units[u];
            if (!open(u) || unit.current < 0) continue;
            const int h = unit.current;
            if (!apart_blocker(request_, units_, unit, unit_host_, h).empty()) continue;
            if (!ledger_.fits(h, unit.demand)) continue;
            assign(u, h, "stays on " + ledger_.host(h).name + ", where it runs");
        }
    }

    void place_rest() {
        Demand smallest{std::numeric_limits<std::uint64_t>::max(),
                        std::numeric_limits<std::uint64_t>::max()};
        std::uint64_t largest_vcpus = 0, largest_memory = 0;
        for (int h = 0; h < ledger_.size(); ++h) {
            largest_vcpus = std::max<std::uint64_t>(largest_vcpus, ledger_.host(h).vcpus);
            largest_memory = std::max(largest_memory, ledger_.host(h).memory_mib);
        }
        for (std::size_t u = 0; u < units_.units.size(); ++u) {
            if (!open(u)) continue;
            smallest.vcpus = std::min(smallest.vcpus, units_.units[u].demand.vcpus);
            smallest.memory_mib = std::min(smallest.memory_mib, units_.units[u].demand.memory_mib);
        }
        chooser_.start(ledger_, smallest);
        for (std::size_t u = 0; u < units_.units.size(); ++u) {
            if (!open(u)) continue;
            const Unit& unit = units_.units[u];
            const std::vector<int> excluded = excluded_hosts(unit, unit_host_);
            const int h = chooser_.choose(ledger_, unit.demand, excluded);
            if (h >= 0) {
                std::string reason = chooser_.reason(ledger_, h);
                assign(u, h, std::move(reason));
                chooser_.placed(ledger_, h);
                continue;
            }
            if (unit.demand.vcpus > largest_vcpus || unit.demand.memory_mib > largest_memory) {
                unit_problem_[u] =
                    "needs " + demand_text(unit.demand) +
                    ", more than any host has (the largest: " + std::to_string(largest_vcpus) +
                    " vcpus, " + std::to_string(largest_memory) + " MiB)";
            } else {
                unit_problem_[u] =
                    "no host has " + demand_text(unit.demand) + " free" + chooser_.limit_note() +
                    (excluded.empty() ? std::string()
                                      : " apart from " + std::to_string(excluded.size()) +
                                            " host(s) excluded by apart");
            }
        }
    }

    Placement result() const {
        Placement out;
        for (std::size_t i = 0; i < request_.vms.size(); ++i) {
            const int u = units_.unit_of_vm[i];
            if (!unit_problem_[u].empty())
                out.unplaced.push_back(
                    {request_.vms[i].name,
                     unit_problem_[u] + together_note(request_, units_.units[u], int(i))});
        }
        if (!out.unplaced.empty()) return out;
        out.assignments.reserve(request_.vms.size());
        for (std::size_t i = 0; i < request_.vms.size(); ++i) {
            const int u = units_.unit_of_vm[i];
            const std::string& host = ledger_.host(unit_host_[u]).name;
            const bool joins =
                unit_reason_[u].rfind("stays on ", 0) == 0 && request_.vms[i].current_host.empty();
            out.assignments.push_back(
                {request_.vms[i].name, host,
                 (joins ? "joins its together group on " + host + ", where it runs"
                        : unit_reason_[u]) +
                     together_note(request_, units_.units[u], int(i))});
        }
        return out;
    }

    const Request& request_;
    Ledger ledger_;
    Units units_;
    Chooser& chooser_;
    std::vector<int> unit_host_;
    std::vector<std::string> unit_reason_;
    std::vector<std::string> unit_problem_;
};

}  // namespace

Result<Placement> run_placement(const Request& request, Chooser& chooser) {
    auto ledger = Ledger::make(request.hosts);
    if (!ledger) return ledger.status();
    auto units = make_units(request, *ledger);
    if (!units) return units.status();
    Engine engine(request, std::move(*ledger), std::move(*units), chooser);
    return engine.run();
}

}  // namespace provisioner::placement
