// `provisioner-agent ready`: apart from the other flows (agent.cc) because it reads the host's
// capacity through vmhost (xl info), which the netboot agent does not carry.
#include "provisioner/agent/agent.h"
#include "provisioner/agent/capacity.h"
#include "provisioner/agent/facts.h"
#include "retry.h"

namespace provisioner::agent {

int run_ready(const AgentOptions& options, ServerClient& server, base::Clock& clock) {
    Facts facts = collect_facts(options.root, options.disk);
    auto runner = vmhost::make_process_runner();
    nlohmann::json capacity = host_capacity(facts, options.storage, options.root, *runner);
    log_line("ready to " + server.base_url() + " as " + options.mac + " with " + capacity.dump());
    CallResult r = call_with_retry([&] { return server.ready(options.mac, capacity); }, "ready",
                                   options.hello_timeout, clock);
    if (!r.ok()) {
        log_line("error: " + r.error);
        return 1;
    }
    return 0;
}

}  // namespace provisioner::agent
