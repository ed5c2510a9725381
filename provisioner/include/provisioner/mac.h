// A network card's hardware address: the key by which the inventory knows a host. One type for
// every folder (base/mac.h); this name keeps provisioner:: call sites as they were.
#pragma once

#include "base/mac.h"
#include "provisioner/status.h"

namespace provisioner {

using base::Mac;

}  // namespace provisioner
