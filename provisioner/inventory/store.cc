#include "provisioner/store.h"

namespace provisioner {

Result<std::vector<Host>> Store::add_hosts(const std::vector<HostSpec>& specs, HostState initial,
                                           const std::string& reason) {
    std::vector<Host> added;
    added.reserve(specs.size());
    Status s = transaction([&]() -> Status {
        for (const HostSpec& spec : specs) {
            auto host = add_host(spec, initial, reason);
            if (!host) return host.status();
            added.push_back(std::move(*host));
        }
        return Status::ok();
    });
    if (!s) return s;
    return added;
}

Result<Event> Store::transition(HostId id, HostState to, const std::string& reason) {
    std::optional<Event> event;
    Status s = transaction([&]() -> Status {
        auto host = get_host(id);
        if (!host) return host.status();
        if (Status legal = check_transition(host->state, to); !legal)
            return legal.context("host " + host->name);
        auto written = write_transition(*host, to, reason);
        if (!written) return written.status();
        event = *written;
        return Status::ok();
    });
    if (!s) return s;
    return *event;
}

}  // namespace provisioner
