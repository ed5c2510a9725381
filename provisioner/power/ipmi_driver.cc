// Why ipmitool and not FreeIPMI's programs: one program does power, status and the boot device
// (FreeIPMI needs ipmipower and ipmi-chassis), and `-E` takes the password from the environment
// (IPMI_PASSWORD), so it is never on a command line that `ps` shows; FreeIPMI takes it on the
// command line or from a configuration file that would have to be written per call.
#include "provisioner/power/ipmi_driver.h"

#include <string>
#include <vector>

#include "base/process.h"

namespace provisioner::power {
namespace {

bool contains(const std::string& text, const char* what) {
    return text.find(what) != std::string::npos;
}

std::string last_line(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    auto nl = text.find_last_of('\n');
    std::string line = nl == std::string::npos ? text : text.substr(nl + 1);
    std::erase_if(line, [](char c) { return c < 0x20 || c > 0x7e; });
    return line.size() > 300 ? line.substr(0, 300) : line;
}

// The lines of a failure that say what happened (verbose output has more), joined by "; ".
std::string telling_lines(const std::string& err) {
    std::string out;
    std::size_t start = 0;
    while (start < err.size()) {
        auto end = err.find('\n', start);
        if (end == std::string::npos) end = err.size();
        std::string line = err.substr(start, end - start);
        start = end + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || contains(line, "Loading IANA") || contains(line, "Cipher Suites") ||
            line.rfind(">>", 0) == 0 || line.rfind("  ", 0) == 0)
            continue;
        if (line.rfind("> ", 0) == 0) line = line.substr(2);
        // Verbose output may carry raw packet bytes: keep what reads as text.
        std::erase_if(line, [](char c) { return c < 0x20 || c > 0x7e; });
        if (!out.empty()) out += "; ";
        out += line;
        if (out.size() > 400) break;
    }
    return out.empty() ? last_line(err) : out.substr(0, 400);
}

class IpmiDriver final : public PowerDriver {
  public:
    IpmiDriver(BmcConfig config, std::string program)
        : config_(std::move(config)), program_(program.empty() ? "ipmitool" : program) {
        auto colon = config_.address.rfind(':');
        if (colon != std::string::npos && config_.address.find(']') == std::string::npos &&
            config_.address.find(':') == colon) {
            host_ = config_.address.substr(0, colon);
            port_ = config_.address.substr(colon + 1);
        } else {
            host_ = config_.address;
        }
    }

    BmcOutcome power(PowerAction action) override {
        auto r = run({"chassis", "power", to_string(action)});
        return r;
    }

    BmcOutcome status() override {
        std::string out;
        BmcOutcome r = run({"chassis", "power", "status"}, &out);
        if (!r.ok()) return r;
        if (contains(out, "is on")) r.state = PowerState::on;
        else if (contains(out, "is off")) r.state = PowerState::off;
        else return BmcOutcome::failure(BmcError::protocol, "ipmitool said: " + last_line(out));
        return r;
    }

    BmcOutcome set_next_boot(BootDevice device) override {
        // One-time is ipmitool's default for bootdev (options=persistent would keep it).
        return run({"chassis", "bootdev", device == BootDevice::pxe ? "pxe" : "disk"});
    }

    std::string describe() const override { return "ipmi " + config_.address; }

  private:
    BmcOutcome run(std::vector<std::string> command, std::string* out = nullptr) {
        // -N/-R: ipmitool's own per-packet timeout and retries, inside our time limit; the
        // retries of a whole call are RetryingDriver's. A BMC that does not answer "Get
        // Channel Cipher Suites" (ipmi_sim) costs -N x -R seconds before ipmitool falls back
        // to suite 3, hence one retry and a quarter of the limit.
        const auto seconds = std::max<long>(1, long(config_.timeout.count() / 1000 / 4));
        std::vector<std::string> argv = {program_, "-I", "lanplus", "-H", host_};
        if (!port_.empty()) argv.insert(argv.end(), {"-p", port_});
        // -v: without it a refused password and a BMC that does not answer both read "Unable to
        // establish IPMI v2 / RMCP+ session"; with it the RAKP error that tells them apart
        // comes first. -E with an empty variable would prompt, so an empty password is -P "".
        argv.insert(argv.end(), {"-U", config_.username, "-N", std::to_string(seconds), "-R",
                                 "1", "-v"});
        if (config_.password.empty()) argv.insert(argv.end(), {"-P", ""});
        else argv.push_back("-E");
        argv.insert(argv.end(), command.begin(), command.end());
        base::RunOptions options;
        if (!config_.password.empty())
            options.environment = {"IPMI_PASSWORD=" + config_.password};
        options.timeout = config_.timeout;
        options.capture_limit = 64 << 10;
        auto result = base::run_process(argv, options);
        if (!result) {
            const std::string m = result.status().message();
            if (contains(m, "did not finish"))
                // Over UDP a BMC that is down and one that drops packets look the same.
                return BmcOutcome::failure(
                    BmcError::unreachable,
                    "no answer within " + std::to_string(config_.timeout.count() / 1000) + " s");
            return BmcOutcome::failure(BmcError::unsupported, "cannot run ipmitool: " + m);
        }
        if (result->exit_code != 0) {
            std::string err = result->err.empty() ? result->out : result->err;
            return BmcOutcome::failure(classify_ipmitool_failure(err),
                                       "ipmitool: " + telling_lines(err));
        }
        if (out) *out = result->out;
        return {};
    }

    const BmcConfig config_;
    const std::string program_;
    std::string host_;
    std::string port_;
};

}  // namespace

BmcError classify_ipmitool_failure(const std::string& e) {
    // The messages of ipmitool 1.8.19's lanplus interface (lanplus.c) and completion codes.
    if (contains(e, "RAKP 2 HMAC is invalid") || contains(e, "unauthorized name") ||
        contains(e, "invalid authentication") || contains(e, "Invalid user name") ||
        contains(e, "Insufficient privilege") ||
        contains(e, "invalid integrity") || contains(e, "unauthorized role"))
        return BmcError::authentication;
    if (contains(e, "insufficient resources for session") || contains(e, "Node busy") ||
        contains(e, "busy") || contains(e, "Out of space"))
        return BmcError::busy;
    if (contains(e, "Unable to establish") || contains(e, "No response") ||
        contains(e, "Get Auth Capabilities error") ||
        contains(e, "timeout") || contains(e, "Address lookup") || contains(e, "unreachable") ||
        contains(e, "Connection refused"))
        return BmcError::unreachable;
    return BmcError::protocol;
}

std::unique_ptr<PowerDriver> make_ipmi_driver(const BmcConfig& config, std::string program) {
    return std::make_unique<IpmiDriver>(config, std::move(program));
}

}  // namespace provisioner::power
