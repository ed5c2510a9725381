// The placement steps every algorithm shares (see placement.h): pins, then stays, then the
// algorithm's choices, with together/apart constraints and capacity checks. Private.
#pragma once

#include "chooser.h"
#include "provisioner/placement.h"

namespace provisioner::placement {

Result<Placement> run_placement(const Request& request, Chooser& chooser);

}  // namespace provisioner::placement
