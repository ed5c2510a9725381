#include "provisioner/power/bmc_config.h"

#include "provisioner/power/ipmi_driver.h"
#include "redfish_driver.h"

namespace provisioner::power {

std::unique_ptr<PowerDriver> make_manual_driver();  // manual_driver.cc

namespace {

bool bad_token(const std::string& s) {
    return s.find_first_of(" \t\r\n") != std::string::npos || (!s.empty() && s[0] == '-');
}

}  // namespace

base::Status validate(const BmcConfig& c) {
    using base::Code;
    using base::Status;
    if (c.driver == "manual") return Status::ok();
    if (c.driver != "ipmi" && c.driver != "redfish")
        return Status::error(Code::invalid_argument,
                             "unknown BMC driver '" + c.driver + "' (ipmi, redfish or manual)");
    if (c.address.empty() || bad_token(c.address) || c.address.size() > 256)
        return Status::error(Code::invalid_argument, "a " + c.driver +
                                                         " BMC needs an address (no spaces, "
                                                         "no leading '-')");
    if (c.driver == "redfish" && c.address.rfind("https://", 0) != 0)
        return Status::error(Code::invalid_argument,
                             "a redfish BMC's address is https://HOST[:PORT]");
    if (c.username.empty() || bad_token(c.username) || c.username.size() > 64)
        return Status::error(Code::invalid_argument, "a " + c.driver + " BMC needs a user");
    if (c.password.size() > 256 || c.password.find('\0') != std::string::npos ||
        c.password.find('\n') != std::string::npos)
        return Status::error(Code::invalid_argument, "the BMC password is too long or has a "
                                                     "newline");
    // IPMI 2.0 keeps at most 20 bytes of a password (ipmitool -I lanplus refuses more): said
    // here, not at the first deployment.
    if (c.driver == "ipmi" && c.password.size() > 20)
        return Status::error(Code::invalid_argument,
                             "an IPMI password has at most 20 bytes (IPMI 2.0); this one has " +
                                 std::to_string(c.password.size()));
    return Status::ok();
}

base::Result<std::unique_ptr<PowerDriver>> make_driver(const BmcConfig& config) {
    if (base::Status s = validate(config); !s) return s;
    if (config.driver == "ipmi") return make_ipmi_driver(config);
    if (config.driver == "redfish") return make_redfish_driver(config);
    return make_manual_driver();
}

}  // namespace provisioner::power
