// A network card's hardware address: the key by which the inventory knows a host, and what
// dnsmasq, iPXE, libvirt and file names spell in their own forms. Parsed once, here, for every
// folder.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace base {

class Mac {
  public:
    Mac() = default;
    explicit Mac(const std::array<std::uint8_t, 6>& bytes) : bytes_(bytes) {}

    // Accepts six two-digit hex groups separated all by ':' or all by '-', in either case
    // ("AA-BB-CC-00-11-22"), with surrounding blanks. Refuses anything else, and the all-zero,
    // broadcast and multicast addresses, which no host's NIC has, with Code::invalid_argument
    // and a message that quotes the input and says what is wrong.
    static Result<Mac> parse(std::string_view text);

    // Canonical form, lower case, ':' separated ("aa:bb:cc:00:11:22"): the inventory's, and the
    // form dnsmasq's dhcp-host, iPXE's ${mac} and libvirt use.
    std::string str() const;
    // "aa-bb-cc-00-11-22": the form of file names and URLs (iPXE's ${mac:hexhyp}).
    std::string hyphen() const;
    const std::array<std::uint8_t, 6>& bytes() const { return bytes_; }

    auto operator<=>(const Mac&) const = default;

  private:
    std::string format(char separator) const;

    std::array<std::uint8_t, 6> bytes_{};
};

}  // namespace base
