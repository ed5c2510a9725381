// IPMI over LAN (RMCP+, "lanplus") through Debian's ipmitool, one run per call (why ipmitool:
// ipmi_driver.cc). make_driver() is the way in; this header is for tests that run a fake
// ipmitool.
#pragma once

#include <memory>

#include "provisioner/power/bmc_config.h"

namespace provisioner::power {

// ipmitool is found on PATH, or at `program` when not empty (tests point it at a fake).
std::unique_ptr<PowerDriver> make_ipmi_driver(const BmcConfig& config, std::string program = "");

// How a failed ipmitool run is classified, from its exit and its stderr. Exposed for tests.
BmcError classify_ipmitool_failure(const std::string& stderr_text);

}  // namespace provisioner::power
