#include "imaging/status.h"

#include <cerrno>
#include <cstring>

namespace imaging {

Status errno_status(const std::string& what, int err) {
    return Status::error(what + ": " + std::strerror(err));
}

Status errno_status(const std::string& what) { return errno_status(what, errno); }

}  // namespace imaging
