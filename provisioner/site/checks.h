// The checks that need the whole site: unique names, MACs and IPs, known networks, constraint
// references, and constraints that contradict each other or the pins. Private.
#pragma once

#include <vector>

#include "provisioner/site.h"

namespace provisioner::site {

void check_site(const Site& site, std::vector<Problem>& problems);

}  // namespace provisioner::site
