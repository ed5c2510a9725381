#include "provisioner/power/driver.h"

namespace provisioner::power {

const char* to_string(BmcError e) {
    switch (e) {
        case BmcError::none: return "none";
        case BmcError::busy: return "busy";
        case BmcError::authentication: return "authentication";
        case BmcError::unreachable: return "unreachable";
        case BmcError::timeout: return "timeout";
        case BmcError::unsupported: return "unsupported";
        case BmcError::protocol: return "protocol";
    }
    return "protocol";
}

const char* to_string(PowerAction a) {
    switch (a) {
        case PowerAction::on: return "on";
        case PowerAction::off: return "off";
        case PowerAction::cycle: return "cycle";
    }
    return "on";
}

const char* to_string(PowerState s) {
    switch (s) {
        case PowerState::on: return "on";
        case PowerState::off: return "off";
        case PowerState::unknown: return "unknown";
    }
    return "unknown";
}

const char* to_string(BootDevice d) { return d == BootDevice::pxe ? "pxe" : "disk"; }

bool parse_power_action(std::string_view s, PowerAction& out) {
    if (s == "on") out = PowerAction::on;
    else if (s == "off") out = PowerAction::off;
    else if (s == "cycle") out = PowerAction::cycle;
    else return false;
    return true;
}

bool parse_boot_device(std::string_view s, BootDevice& out) {
    if (s == "pxe") out = BootDevice::pxe;
    else if (s == "disk") out = BootDevice::disk;
    else return false;
    return true;
}

bool retriable(BmcError e) {
    return e == BmcError::busy || e == BmcError::unreachable || e == BmcError::timeout;
}

}  // namespace provisioner::power
