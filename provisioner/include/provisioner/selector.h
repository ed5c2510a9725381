// The --hosts SELECTOR of `provisioner deploy` and the API's host queries.
//
//   all | *                   every host
//   web-*                     a bare word is a name glob
//   rack=r1,state=enrolled    comma-separated conditions, all must hold;
//                             keys: name (glob), rack, state, mac, image (id)
#pragma once

#include <string_view>

#include "provisioner/records.h"
#include "provisioner/status.h"

namespace provisioner {

// invalid_argument names the bad key or value.
Result<HostFilter> parse_selector(std::string_view text);

}  // namespace provisioner
