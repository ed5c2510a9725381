#include "ledger.h"

namespace provisioner::placement {

Result<Ledger> Ledger::make(const std::vector<Host>& hosts) {
    Ledger ledger;
    ledger.hosts_.reserve(hosts.size());
    ledger.by_id_.reserve(hosts.size() * 2);
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        const Host& host = hosts[i];
        if (host.name.empty())
            return Status::error(Code::invalid_argument,
                                 "host #" + std::to_string(i + 1) + " has no name");
        for (const std::string* id : {&host.name, &host.address}) {
            if (id->empty()) continue;
            auto [it, inserted] = ledger.by_id_.emplace(*id, static_cast<int>(i));
            if (!inserted && it->second != static_cast<int>(i))
                return Status::error(Code::invalid_argument,
                                     "host \"" + *id + "\" is named twice (hosts " +
                                         hosts[it->second].name + " and " + host.name + ")");
        }
        ledger.hosts_.push_back(&host);
        ledger.used_vcpus_.push_back(host.reserved_vcpus);
        ledger.used_memory_.push_back(host.reserved_memory_mib);
    }
    return ledger;
}

int Ledger::find(std::string_view id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? -1 : it->second;
}

std::string Ledger::free_text(int h) const {
    const Host& host = *hosts_[h];
    const auto free_vcpus = host.vcpus > used_vcpus_[h] ? host.vcpus - used_vcpus_[h] : 0;
    const auto free_mem = host.memory_mib > used_memory_[h] ? host.memory_mib - used_memory_[h] : 0;
    return std::to_string(free_vcpus) + " vcpus / " + std::to_string(free_mem) + " MiB free of " +
           std::to_string(host.vcpus) + " / " + std::to_string(host.memory_mib);
}

}  // namespace provisioner::placement
