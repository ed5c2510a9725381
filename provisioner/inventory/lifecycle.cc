#include "provisioner/lifecycle.h"

#include <algorithm>
#include <string>

namespace provisioner {

namespace {
using S = HostState;
}

const char* to_string(HostState state) {
    switch (state) {
        case S::discovered:
            return "discovered";
        case S::enrolled:
            return "enrolled";
        case S::booting:
            return "booting";
        case S::imaging:
            return "imaging";
        case S::imaged:
            return "imaged";
        case S::ready:
            return "ready";
        case S::unreachable:
            return "unreachable";
        case S::failed:
            return "failed";
        case S::retired:
            return "retired";
    }
    return "unknown";
}

const std::vector<HostState>& all_host_states() {
    static const std::vector<HostState> all = {
        S::discovered, S::enrolled,    S::booting, S::imaging, S::imaged,
        S::ready,      S::unreachable, S::failed,  S::retired};
    return all;
}

std::optional<HostState> parse_host_state(std::string_view text) {
    for (HostState s : all_host_states())
        if (text == to_string(s)) return s;
    return std::nullopt;
}

const std::vector<std::pair<HostState, HostState>>& legal_transitions() {
    static const std::vector<std::pair<HostState, HostState>> table = {
        {S::discovered, S::enrolled},  // the operator accepts it
        {S::discovered, S::retired},   // ... or rejects it
        {S::enrolled, S::booting},     // a deployment starts
        {S::enrolled, S::retired},
        {S::booting, S::imaging},  // the agent said hello and got its job
        {S::booting, S::failed},   // never came up, or the server restarted
        {S::imaging, S::imaged},   // image written and verified
        {S::imaging, S::failed},
        {S::imaged, S::ready},    // the Dom0 agent reported in
        {S::imaged, S::booting},  // re-image
        {S::imaged, S::failed},
        {S::imaged, S::retired},
        {S::ready, S::booting},  // re-image
        {S::ready, S::failed},   // stopped reporting
        {S::ready, S::retired},
        {S::ready, S::unreachable},    // its Dom0 agent missed three heartbeats
        {S::unreachable, S::ready},    // ... and reported again
        {S::unreachable, S::booting},  // re-image
        {S::unreachable, S::failed},
        {S::unreachable, S::retired},
        {S::failed, S::booting},   // deploy again
        {S::failed, S::enrolled},  // operator reset
        {S::failed, S::retired},
        {S::retired, S::enrolled},  // back in service
    };
    return table;
}

bool is_legal_transition(HostState from, HostState to) {
    const auto& t = legal_transitions();
    return std::find(t.begin(), t.end(), std::pair{from, to}) != t.end();
}

Status check_transition(HostState from, HostState to) {
    if (is_legal_transition(from, to)) return Status::ok();
    return Status::error(Code::illegal_transition, std::string("illegal transition ") +
                                                       to_string(from) + " -> " + to_string(to));
}

bool is_deployable(HostState state) {
    return is_legal_transition(state, S::booting);
}

bool is_in_flight(HostState state) {
    return state == S::booting || state == S::imaging;
}

}  // namespace provisioner
