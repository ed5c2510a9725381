// The answer to the agent's hello (provisioner/API.md, "Agent endpoints"): image a disk, wait
// and ask again, or nothing to do. The job and the answer are the wire contract's
// (provisioner/wire/hello.h); this adds what the agent makes of a wait.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "imaging/status.h"
#include "provisioner/wire/hello.h"

namespace provisioner::agent {

using Job = wire::Job;

struct HelloAction {
    enum class Kind { image, wait, none };
    Kind kind = Kind::none;
    Job job;                                  // image
    std::chrono::milliseconds retry_after{};  // wait: 2 s when the server names none, at most 60 s
    std::string reason;                       // none
};

// decode<wire::HelloAnswer>: a known action, and for a job its deployment, a known transport
// with that transport's parameters, a pinned image and a public key; the error names the field.
imaging::Result<HelloAction> parse_hello_answer(const nlohmann::json& answer);

}  // namespace provisioner::agent
