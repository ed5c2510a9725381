// The provisioner's errors are base's (base/status.h: a Code and a message); these names keep
// provisioner:: call sites as they were.
#pragma once

#include "base/status.h"

namespace provisioner {

using base::Code;
using base::Result;
using base::Status;
using base::to_string;

}  // namespace provisioner
