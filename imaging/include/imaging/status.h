// The imaging library's errors are base's (base/status.h); these names keep imaging:: call
// sites as they were. Imaging code mostly says Status::error(message) (code Code::error).
#pragma once

#include "base/status.h"

namespace imaging {

using base::errno_status;
using base::Result;
using base::Status;

}  // namespace imaging
