// Whether something accepts TCP connections at host:port: `imaging serve` listens once its
// signature cache is ready, so a connect says a delta server can be handed to agents.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace provisioner::server {

// A connect to host ("0.0.0.0" means this machine) that succeeds within timeout. A host that
// drops SYNs costs the timeout, not the kernel's minutes of retries. Blocks the caller: call it
// outside any lock.
bool accepts_connections(const std::string& host, std::uint16_t port,
                         std::chrono::milliseconds timeout);

}  // namespace provisioner::server
