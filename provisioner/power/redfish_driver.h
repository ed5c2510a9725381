// Redfish over HTTPS (DMTF DSP0266): the ComputerSystem's PowerState, its Reset action and its
// Boot source override. Private to provisioner/power; make_driver() is the way in.
#pragma once

#include <memory>

#include "provisioner/power/bmc_config.h"

namespace provisioner::power {

std::unique_ptr<PowerDriver> make_redfish_driver(const BmcConfig& config);

}  // namespace provisioner::power
