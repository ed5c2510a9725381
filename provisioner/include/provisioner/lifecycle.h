// The host lifecycle of DESIGN.md as a pure table:
//   discovered -> enrolled -> booting -> imaging -> imaged -> ready   (+ failed, retired)
//   ready <-> unreachable: a Dom0 agent silent for three heartbeat intervals, and back when it
//   reports again (server/host_monitor.h)
// Nothing here touches storage; Store::transition() applies it (see store.h).
#pragma once

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "provisioner/status.h"

namespace provisioner {

enum class HostState {
    discovered,
    enrolled,
    booting,
    imaging,
    imaged,
    ready,
    unreachable,
    failed,
    retired
};

const char* to_string(HostState state);
std::optional<HostState> parse_host_state(std::string_view text);
const std::vector<HostState>& all_host_states();

// Every legal (from, to) pair. Notably: failed -> booting and imaged/ready -> booting
// (re-imaging) are legal, so a failed or interrupted host is deployable again; retired ->
// enrolled re-enrols a host; nothing moves a host back to discovered.
const std::vector<std::pair<HostState, HostState>>& legal_transitions();
bool is_legal_transition(HostState from, HostState to);
// ok, or an illegal_transition error naming both states ("illegal transition ready -> imaging").
Status check_transition(HostState from, HostState to);

// States from which a deployment may start (a legal -> booting transition).
bool is_deployable(HostState state);
// States a host is in while a server is actively driving it; a crash leaves hosts here.
bool is_in_flight(HostState state);

}  // namespace provisioner
