#include "redfish_driver.h"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <mutex>
#include <string>

#include "imaging/http/client.h"

namespace provisioner::power {
namespace {

using nlohmann::json;

std::string base64(const std::string& in) {
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()), int(in.size()));
    out.resize(std::size_t(n));
    return out;
}

// The message a Redfish error body carries ("error": {"message", "@Message.ExtendedInfo"}).
std::string redfish_message(const std::string& body) {
    auto doc = json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return "";
    auto err = doc.find("error");
    if (err == doc.end() || !err->is_object()) return "";
    auto info = err->find("@Message.ExtendedInfo");
    if (info != err->end() && info->is_array() && !info->empty() && (*info)[0].is_object() &&
        (*info)[0].contains("Message") && (*info)[0]["Message"].is_string())
        return (*info)[0]["Message"].get<std::string>().substr(0, 300);
    auto m = err->find("message");
    return m != err->end() && m->is_string() ? m->get<std::string>().substr(0, 300) : "";
}

class RedfishDriver final : public PowerDriver {
  public:
    explicit RedfishDriver(BmcConfig config) : config_(std::move(config)) {
        while (!config_.address.empty() && config_.address.back() == '/')
            config_.address.pop_back();
        // An address that names the system itself (".../redfish/v1/Systems/ID") is used as it is.
        auto at = config_.address.find("/redfish/v1/Systems/");
        if (at != std::string::npos) {
            system_ = config_.address.substr(at);
            config_.address.resize(at);
        }
    }

    BmcOutcome power(PowerAction action) override {
        std::string reset = "On";
        if (action == PowerAction::off) reset = "ForceOff";
        if (action == PowerAction::cycle) {
            // A host that is off is powered on: the cycle's purpose is a fresh boot.
            BmcOutcome now = status();
            if (!now.ok()) return now;
            reset = now.state == PowerState::off ? "On" : "ForceRestart";
        }
        std::string system;
        if (BmcOutcome s = system_path(system); !s.ok()) return s;
        json body = {{"ResetType", reset}};
        return call("POST", system + "/Actions/ComputerSystem.Reset", body.dump(), nullptr);
    }

    BmcOutcome status() override {
        std::string system;
        if (BmcOutcome s = system_path(system); !s.ok()) return s;
        json doc;
        BmcOutcome r = call("GET", system, "", &doc);
        if (!r.ok()) return r;
        auto state = doc.find("PowerState");
        if (state == doc.end() || !state->is_string())
            return BmcOutcome::failure(BmcError::protocol, system + " has no PowerState");
        const auto s = state->get<std::string>();
        // PoweringOn/PoweringOff are on their way; say where they are now.
        r.state = s == "On" || s == "PoweringOff" ? PowerState::on
                  : s == "Off" || s == "PoweringOn" ? PowerState::off
                                                    : PowerState::unknown;
        return r;
    }

    BmcOutcome set_next_boot(BootDevice device) override {
        std::string system;
        if (BmcOutcome s = system_path(system); !s.ok()) return s;
        json body = {{"Boot",
                      {{"BootSourceOverrideEnabled", "Once"},
                       {"BootSourceOverrideTarget", device == BootDevice::pxe ? "Pxe" : "Hdd"}}}};
        return call("PATCH", system, body.dump(), nullptr);
    }

    std::string describe() const override { return "redfish " + config_.address; }

  private:
    // The first member of /redfish/v1/Systems, found once.
    BmcOutcome system_path(std::string& out) {
        {
            std::lock_guard lock(mu_);
            if (!system_.empty()) {
                out = system_;
                return {};
            }
        }
        json doc;
        BmcOutcome r = call("GET", "/redfish/v1/Systems", "", &doc);
        if (!r.ok()) return r;
        auto members = doc.find("Members");
        if (members == doc.end() || !members->is_array() || members->empty() ||
            !(*members)[0].is_object() || !(*members)[0].contains("@odata.id") ||
            !(*members)[0]["@odata.id"].is_string())
            return BmcOutcome::failure(BmcError::protocol,
                                       "/redfish/v1/Systems lists no system");
        std::lock_guard lock(mu_);
        system_ = (*members)[0]["@odata.id"].get<std::string>();
        out = system_;
        return {};
    }

    BmcOutcome call(const std::string& method, const std::string& path, const std::string& body,
                    json* doc) {
        imaging::http::ClientRequest req;
        req.method = method;
        req.url = config_.address + path;
        req.body = body;
        req.timeout = config_.timeout;
        req.max_body_bytes = 1 << 20;
        req.ca_file = config_.ca_file;
        req.headers = {{"Authorization", "Basic " + base64(config_.username + ":" +
                                                           config_.password)},
                       {"Accept", "application/json"}};
        auto resp = imaging::http::http_request(req);
        if (!resp.transport_ok) {
            const bool timed_out = resp.error.find("timed out") != std::string::npos;
            return BmcOutcome::failure(timed_out ? BmcError::timeout : BmcError::unreachable,
                                       resp.error);
        }
        const std::string what = method + " " + path + ": HTTP " + std::to_string(resp.status);
        if (!resp.success()) {
            std::string detail = redfish_message(resp.body);
            if (!detail.empty()) detail = ": " + detail;
            BmcError kind = BmcError::protocol;
            if (resp.status == 401 || resp.status == 403) kind = BmcError::authentication;
            else if (resp.status == 503 || resp.status == 429) kind = BmcError::busy;
            else if (resp.status == 404 || resp.status == 405 || resp.status == 501)
                kind = BmcError::unsupported;
            return BmcOutcome::failure(kind, what + detail);
        }
        if (doc) {
            *doc = json::parse(resp.body, nullptr, false);
            if (doc->is_discarded() || !doc->is_object())
                return BmcOutcome::failure(BmcError::protocol, what + " with no JSON object");
        }
        return {};
    }

    BmcConfig config_;
    std::mutex mu_;
    std::string system_;
};

}  // namespace

std::unique_ptr<PowerDriver> make_redfish_driver(const BmcConfig& config) {
    return std::make_unique<RedfishDriver>(config);
}

}  // namespace provisioner::power
