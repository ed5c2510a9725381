#include "provisioner/agent/agent.h"

#include <chrono>
#include <iostream>
#include <thread>

#include "provisioner/agent/facts.h"
#include "retry.h"

namespace provisioner::agent {
namespace {

std::string seconds_text(std::chrono::milliseconds ms) {
    auto tenths = (ms.count() + 50) / 100;
    return std::to_string(tenths / 10) + (tenths % 10 ? "." + std::to_string(tenths % 10) : "") +
           " s";
}

}  // namespace


void log_line(const std::string& line) {
    std::cerr << "agent: " << line << std::endl;
}

CallResult call_with_retry(const std::function<CallResult()>& call, const std::string& what,
                           std::chrono::milliseconds patience, base::Clock& clock) {
    constexpr std::chrono::milliseconds kMaxBackoff{15'000};
    const auto deadline = clock.now() + patience;
    std::chrono::milliseconds backoff{1'000};
    for (;;) {
        CallResult r = call();
        if (r.kind != CallResult::Kind::retry) return r;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.now());
        if (left <= std::chrono::milliseconds::zero()) {
            r.error += " (gave up after " + seconds_text(patience) + ")";
            return r;
        }
        auto pause = std::min(backoff, left);
        log_line(what + " failed (" + r.error + "); retrying in " + seconds_text(pause));
        clock.sleep_for(pause);
        backoff = std::min(backoff * 2, kMaxBackoff);
    }
}

int run_discover(const AgentOptions& options, ServerClient& server, base::Clock& clock) {
    Facts facts = collect_facts(options.root, options.disk);
    log_line("discovery hello to " + server.base_url() + " as " + options.mac);
    CallResult r =
        call_with_retry([&] { return server.hello(options.mac, "discover", facts_to_json(facts)); },
                        "hello", options.hello_timeout, clock);
    if (!r.ok()) {
        log_line("error: " + r.error);
        return 1;
    }
    log_line("registered; the operator accepts this host with `provisioner host accept " +
             options.mac + "`");
    return 0;
}

}  // namespace provisioner::agent
