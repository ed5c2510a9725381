#include "provisioner/agent/job.h"

#include <algorithm>

namespace provisioner::agent {

imaging::Result<HelloAction> parse_hello_answer(const nlohmann::json& answer) {
    auto decoded = wire::decode<wire::HelloAnswer>(answer);
    if (!decoded) return decoded.status();
    HelloAction out;
    switch (decoded->action) {
        case wire::HelloAnswer::Action::image:
            out.kind = HelloAction::Kind::image;
            out.job = std::move(*decoded->job);
            break;
        case wire::HelloAnswer::Action::wait: {
            out.kind = HelloAction::Kind::wait;
            std::uint64_t ms = decoded->retry_after_ms;
            out.retry_after =
                std::chrono::milliseconds(ms == 0 ? 2000 : std::min<std::uint64_t>(ms, 60'000));
            break;
        }
        case wire::HelloAnswer::Action::none:
            out.kind = HelloAction::Kind::none;
            out.reason = decoded->reason;
            break;
    }
    return out;
}

}  // namespace provisioner::agent
