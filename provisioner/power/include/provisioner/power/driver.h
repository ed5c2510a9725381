// A host's power and next boot, through its baseboard management controller (BMC): one
// interface, a driver per protocol (drivers.h), a wrapper that bounds and retries every call
// (retrying_driver.h). The server never talks to a BMC in any other way.
//
// Errors are typed (BmcError), because what an operator does next depends on the kind: a busy
// BMC is retried, a refused password is not, an unreachable one may be cabling.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace provisioner::power {

enum class PowerAction { on, off, cycle };
enum class PowerState { unknown, on, off };
// The device the host boots from at its next start, once (the BMC forgets it afterwards).
enum class BootDevice { pxe, disk };

enum class BmcError {
    none,
    busy,            // the BMC answered but could not serve now (session limit, node busy)
    authentication,  // the BMC refused the user or password (never retried)
    unreachable,     // no answer: nothing listens, or the network drops the packets
    timeout,         // the call passed its time limit
    unsupported,     // the BMC or driver cannot do this (manual power, an unknown boot device)
    protocol,        // an answer we could not understand, or another error the BMC reported
};

// "busy", "authentication", "unreachable", ... (what the API and events say).
const char* to_string(BmcError e);
const char* to_string(PowerAction a);
const char* to_string(PowerState s);
const char* to_string(BootDevice d);
bool parse_power_action(std::string_view s, PowerAction& out);
bool parse_boot_device(std::string_view s, BootDevice& out);

// What one call achieved. message is for people: it never holds the BMC's password.
struct BmcOutcome {
    BmcError error = BmcError::none;
    std::string message;
    PowerState state = PowerState::unknown;  // status(): the state read; otherwise unknown
    int attempts = 1;                        // filled by RetryingDriver
    bool ok() const { return error == BmcError::none; }
    static BmcOutcome failure(BmcError e, std::string message) {
        BmcOutcome o;
        o.error = e;
        o.message = std::move(message);
        return o;
    }
};

// Whether a call that failed so may succeed if tried again.
bool retriable(BmcError e);

// One BMC. Calls block for at most the driver's time limit (its config's `timeout`) and may be
// made from any thread; a driver serialises nothing itself (RetryingDriver does one call at a
// time per BMC, which most BMCs need).
class PowerDriver {
  public:
    virtual ~PowerDriver() = default;
    virtual BmcOutcome power(PowerAction action) = 0;
    virtual BmcOutcome status() = 0;
    virtual BmcOutcome set_next_boot(BootDevice device) = 0;
    // "ipmi 10.0.0.5:623", "redfish https://...": for messages; never the password.
    virtual std::string describe() const = 0;
};

}  // namespace provisioner::power
