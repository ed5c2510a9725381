// Where a host's BMC is and how to log in: what the inventory keeps (the password sealed,
// sealed_password.h) and what make_driver() needs (the password open, in memory only).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "base/status.h"
#include "provisioner/power/driver.h"

namespace provisioner::power {

struct BmcConfig {
    std::string driver;   // "ipmi", "redfish" or "manual"
    std::string address;  // ipmi: HOST[:PORT] (623); redfish: https://HOST[:PORT]; manual: ""
    std::string username;
    std::string password;  // open; never logged, never sent back by the API
    // redfish: the PEM file of the CA the BMC's certificate must chain to ("": the system's).
    std::string ca_file;
    // The time limit of one attempt at one call (a program run, an HTTP exchange).
    std::chrono::milliseconds timeout{10'000};
};

// invalid_argument naming the field: unknown driver, missing address or user for ipmi and
// redfish, a redfish address that is not https://, an address with spaces or a leading '-'.
base::Status validate(const BmcConfig& config);

// The driver config.driver names (validate() first). ipmitool is found on PATH.
base::Result<std::unique_ptr<PowerDriver>> make_driver(const BmcConfig& config);

}  // namespace provisioner::power
