#include "provisioner/status.h"

namespace provisioner {

const char* to_string(Code code) {
    switch (code) {
        case Code::ok:
            return "ok";
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

}  // namespace provisioner
