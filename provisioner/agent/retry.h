// Retrying a server call while the server is unreachable or answers 5xx (private to the agent).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "provisioner/agent/agent.h"

namespace provisioner::agent {

// Calls call() until it is ok or fatal, or until `patience` has passed since the first try;
// waits 1 s, 2 s, 4 s ... (at most 15 s) between tries, logging each failure on stderr as
// "agent: WHAT failed (...); retrying in N s". Returns the last CallResult.
CallResult call_with_retry(const std::function<CallResult()>& call, const std::string& what,
                           std::chrono::milliseconds patience, base::Clock& clock);

// "agent: <line>" on stderr.
void log_line(const std::string& line);

}  // namespace provisioner::agent
