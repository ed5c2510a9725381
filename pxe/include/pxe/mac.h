// A MAC address as the pxe library spells it: parsed once, printed in the forms dnsmasq, iPXE
// and file names need.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "imaging/status.h"

namespace pxe {

using imaging::Result;
using imaging::Status;

class MacAddress {
  public:
    // Accepts six hex pairs separated by ':' or '-' (any case): "52:54:00:AB:cd:01",
    // "52-54-00-ab-cd-01". Anything else is an error naming the input.
    static Result<MacAddress> parse(std::string_view text);

    // "52:54:00:ab:cd:01": the form dnsmasq's dhcp-host and iPXE's ${mac} use.
    std::string colon() const;
    // "52-54-00-ab-cd-01": the form of file names and URLs (iPXE's ${mac:hexhyp}).
    std::string hyphen() const;

    const std::array<std::uint8_t, 6>& bytes() const { return bytes_; }
    bool operator==(const MacAddress&) const = default;

  private:
    std::array<std::uint8_t, 6> bytes_{};
};

}  // namespace pxe
