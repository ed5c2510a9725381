// A host's BMC as the store keeps it (HostBmcRow's body) and as the API shows it.
//
// Body: {"driver", "address", "username", "password_sealed", "ca_file", "power",
// "power_at", "error_kind", "error"}: the password only sealed (sealed_password.h), the power
// state last read ("on", "off", "unknown") and when, and the last call's error ("" when it
// succeeded). view_json() is what leaves the server: never the password, sealed or open.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "provisioner/power/bmc_config.h"
#include "provisioner/records.h"
#include "provisioner/status.h"

namespace provisioner::server {

struct BmcRecord {
    std::string driver;
    std::string address;
    std::string username;
    std::string password_sealed;
    std::string ca_file;
    power::PowerState power = power::PowerState::unknown;
    Timestamp power_at = 0;  // when power was last read or changed; 0: never
    std::string error_kind;  // power::to_string(BmcError) of the last failed call, or ""
    std::string error;

    bool operator==(const BmcRecord&) const = default;
};

std::string encode_bmc(const BmcRecord& r);
Result<BmcRecord> decode_bmc(const std::string& body);  // invalid_argument when malformed

// {"driver", "address", "username", "ca_file", "power", "power_at", "error_kind", "error"}
nlohmann::json bmc_view_json(const BmcRecord& r);

}  // namespace provisioner::server
