#include "bmc_record.h"

namespace provisioner::server {

using nlohmann::json;

namespace {

power::PowerState parse_state(const std::string& s) {
    if (s == "on") return power::PowerState::on;
    if (s == "off") return power::PowerState::off;
    return power::PowerState::unknown;
}

}  // namespace

std::string encode_bmc(const BmcRecord& r) {
    return json{{"driver", r.driver},
                {"address", r.address},
                {"username", r.username},
                {"password_sealed", r.password_sealed},
                {"ca_file", r.ca_file},
                {"power", power::to_string(r.power)},
                {"power_at", r.power_at},
                {"error_kind", r.error_kind},
                {"error", r.error}}
        .dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<BmcRecord> decode_bmc(const std::string& body) {
    auto doc = json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
        return Status::error(Code::invalid_argument, "a stored BMC is not a JSON object");
    auto text = [&](const char* key) {
        auto it = doc.find(key);
        return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    BmcRecord r;
    r.driver = text("driver");
    r.address = text("address");
    r.username = text("username");
    r.password_sealed = text("password_sealed");
    r.ca_file = text("ca_file");
    r.power = parse_state(text("power"));
    auto at = doc.find("power_at");
    r.power_at = at != doc.end() && at->is_number_integer() ? at->get<Timestamp>() : 0;
    r.error_kind = text("error_kind");
    r.error = text("error");
    if (r.driver.empty())
        return Status::error(Code::invalid_argument, "a stored BMC has no driver");
    return r;
}

json bmc_view_json(const BmcRecord& r) {
    return {{"driver", r.driver},
            {"address", r.address},
            {"username", r.username},
            {"ca_file", r.ca_file},
            {"power", power::to_string(r.power)},
            {"power_at", r.power_at ? json(r.power_at) : json(nullptr)},
            {"error_kind", r.error_kind.empty() ? json(nullptr) : json(r.error_kind)},
            {"error", r.error.empty() ? json(nullptr) : json(r.error)}};
}

}  // namespace provisioner::server
