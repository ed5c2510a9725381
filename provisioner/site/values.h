// The site file's scalar values: counts, addresses, template references, name lists.
// Each parser returns the value or a message saying what is wrong with the text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "provisioner/site.h"
#include "provisioner/status.h"

namespace provisioner::site {

// An invalid_argument status carrying message: what every parser here returns on bad text.
Status invalid_value(std::string message);

std::string_view trim(std::string_view text);

// A decimal count in [min, max]: digits only, no sign, no fraction, no unit.
Result<std::uint64_t> parse_count(std::string_view text, std::uint64_t min, std::uint64_t max);

// A fraction in (0, 1], such as 0.75.
Result<double> parse_fraction(std::string_view text);

// "DHCP" (any case) -> "dhcp"; a dotted IPv4 address, optionally with "/prefix", as written.
Result<std::string> parse_ip(std::string_view text);

// The address part of an IP as parse_ip returned it ("10.0.0.5/24" -> "10.0.0.5").
std::string_view ip_address(std::string_view ip);

// A MAC address in its canonical form (see provisioner/mac.h).
Result<std::string> parse_hwaddr(std::string_view text);

// "name" or "name@version"; the name and version are [A-Za-z0-9._-]+.
Result<TemplateRef> parse_template_name(std::string_view text);
// "a,b" or "a b": labels ([A-Za-z0-9._:/+-]+), all of which a template must carry; sorted.
Result<TemplateRef> parse_template_labels(std::string_view text);

// Words separated by blanks or commas; empty words are dropped.
std::vector<std::string> split_names(std::string_view text);

// A name as VMs, sets and networks have: [A-Za-z0-9._-]+, at most 64 characters.
bool valid_name(std::string_view name);

}  // namespace provisioner::site
