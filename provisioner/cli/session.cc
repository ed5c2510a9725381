#include "session.h"

namespace provisioner::cli {

void print_error(std::ostream& err, const std::string& message) {
    err << "provisioner: error: " << message << std::endl;
}

int Session::fail(const std::string& message) const {
    print_error(err(), message);
    return kExitFailure;
}

int Session::fail(const ApiError& error) const {
    if (json_ && !error.body.is_null())
        out() << error.body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << std::endl;
    return fail(error.message);
}

int Session::print_json(const nlohmann::json& document) const {
    out() << document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    return kExitOk;
}

}  // namespace provisioner::cli
