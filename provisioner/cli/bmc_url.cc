#include "bmc_url.h"

#include <fstream>
#include <sstream>

namespace provisioner::cli {

namespace {

constexpr const char* kForms = "ipmi://USER@HOST[:PORT], redfish://USER@HOST[:PORT] or manual";

base::Status bad(std::string_view text, const std::string& why) {
    return base::Status::error(base::Code::invalid_argument,
                               "'" + std::string(text) + "': " + why + " (" + kForms + ")");
}

}  // namespace

base::Result<BmcUrl> parse_bmc_url(std::string_view text) {
    if (text == "manual" || text == "manual://") return BmcUrl{"manual", "", ""};
    const auto scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos) return bad(text, "no DRIVER://");
    const std::string driver(text.substr(0, scheme_end));
    if (driver != "ipmi" && driver != "redfish")
        return bad(text, "unknown driver '" + driver + "'");
    std::string_view rest = text.substr(scheme_end + 3);
    const auto at = rest.rfind('@');
    if (at == std::string_view::npos || at == 0) return bad(text, "no USER@");
    BmcUrl url;
    url.driver = driver;
    url.user = std::string(rest.substr(0, at));
    std::string_view host = rest.substr(at + 1);
    if (host.empty()) return bad(text, "no HOST");
    // The password never travels in the URL: it would be on the command line.
    if (url.user.find(':') != std::string::npos)
        return bad(text, "a password in the URL (give it with --bmc-password-file)");
    if (host.find_first_of("/?#@ ") != std::string_view::npos)
        return bad(text, "HOST[:PORT] only after the @");
    url.address = driver == "redfish" ? "https://" + std::string(host) : std::string(host);
    return url;
}

base::Result<std::string> read_password_file(const Session& session, const std::string& file) {
    std::ostringstream text;
    if (file == "-") {
        text << session.env().in->rdbuf();
    } else {
        std::ifstream in(file, std::ios::binary);
        if (!in) return base::Status::error(base::Code::invalid_argument, "cannot read " + file);
        text << in.rdbuf();
    }
    std::string password = text.str();
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r'))
        password.pop_back();
    return password;
}

base::Result<nlohmann::json> bmc_request(const Session& session, const BmcUrl& bmc,
                                         const std::string& password_file,
                                         const std::string& ca_file) {
    nlohmann::json body = {{"driver", bmc.driver}, {"address", bmc.address}, {"username", bmc.user}};
    if (!ca_file.empty()) body["ca_file"] = ca_file;
    if (!password_file.empty()) {
        auto password = read_password_file(session, password_file);
        if (!password) return password.status();
        body["password"] = *password;
    }
    return body;
}

}  // namespace provisioner::cli
