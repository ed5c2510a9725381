// The request as units of placement: a "together" group is one unit with the summed demand of
// its VMs; a lone VM is a unit of one. Private to placement.
#pragma once

#include <string>
#include <vector>

#include "ledger.h"
#include "provisioner/placement.h"
#include "provisioner/status.h"

namespace provisioner::placement {

struct Unit {
    std::vector<int> vms;  // indexes into Request::vms, in request order
    Demand demand;
    int pinned = -1;         // host index, when a member is pinned
    int current = -1;        // host index where the running members are, when they agree
    std::vector<int> apart;  // other units that must not share its host
    // Set when the unit can never be placed (unknown pin, contradictory constraints).
    std::string problem;
};

struct Units {
    std::vector<Unit> units;      // ordered by their first VM in the request
    std::vector<int> unit_of_vm;  // Request::vms index -> units index
};

// Fails (invalid_argument) on a malformed request: duplicate or empty VM names, a zero demand,
// a constraint naming an unknown VM or naming one VM twice in an apart.
Result<Units> make_units(const Request& request, const Ledger& ledger);

// "" for a lone VM, else " (together with db1, cache1)": the other members of vm's unit.
std::string together_note(const Request& request, const Unit& unit, int vm);

}  // namespace provisioner::placement
