#include "base/status.h"

#include <cerrno>
#include <cstring>

namespace base {

const char* to_string(Code code) {
    switch (code) {
        case Code::ok:
            return "ok";
        case Code::error:
            return "error";
        case Code::invalid_argument:
            return "invalid argument";
        case Code::not_found:
            return "not found";
        case Code::conflict:
            return "conflict";
        case Code::illegal_transition:
            return "illegal transition";
        case Code::storage:
            return "storage error";
    }
    return "unknown";
}

Status errno_status(const std::string& what, int err) {
    return Status::error(what + ": " + std::strerror(err));
}

Status errno_status(const std::string& what) {
    return errno_status(what, errno);
}

}  // namespace base
