// A network card's hardware address: the key by which the inventory knows a host.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "provisioner/status.h"

namespace provisioner {

class Mac {
  public:
    Mac() = default;
    explicit Mac(const std::array<std::uint8_t, 6>& bytes) : bytes_(bytes) {}

    // Accepts six two-digit hex groups separated all by ':' or all by '-', in either case
    // ("AA-BB-CC-00-11-22"), with surrounding blanks. Refuses anything else, and the all-zero,
    // broadcast and multicast addresses, which no host's NIC has. The message says what is wrong.
    static Result<Mac> parse(std::string_view text);

    // Canonical form: lower case, ':' separated ("aa:bb:cc:00:11:22").
    std::string str() const;
    const std::array<std::uint8_t, 6>& bytes() const { return bytes_; }

    auto operator<=>(const Mac&) const = default;

  private:
    std::array<std::uint8_t, 6> bytes_{};
};

}  // namespace provisioner
