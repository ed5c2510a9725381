// A host's BMC in one word, as `host add --bmc` takes it, and the BMC password read from a
// file (never from the command line, where `ps` shows it).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "session.h"

namespace provisioner::cli {

struct BmcUrl {
    std::string driver;   // ipmi, redfish or manual
    std::string address;  // as API.md's BMC record has it: HOST[:PORT], https://HOST[:PORT]
    std::string user;
};

// "ipmi://USER@HOST[:PORT]" (IPMI over LAN), "redfish://USER@HOST[:PORT]" (Redfish over
// HTTPS), or "manual". An error says what is wrong and gives these forms.
base::Result<BmcUrl> parse_bmc_url(std::string_view text);

// The password in FILE, or on standard input for "-", without its trailing newline. An error
// names the file it could not read.
base::Result<std::string> read_password_file(const Session& session, const std::string& file);

// The body of POST /api/v1/hosts/{host}/bmc (API.md) for bmc: the password read from
// password_file when one is named (none: the server keeps the one it has), ca_file when given.
base::Result<nlohmann::json> bmc_request(const Session& session, const BmcUrl& bmc,
                                         const std::string& password_file,
                                         const std::string& ca_file);

}  // namespace provisioner::cli
