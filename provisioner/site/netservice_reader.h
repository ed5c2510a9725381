// <NETSERVICE> inside a <VM>: compression, rate limits and filters that the VM's Dom0 gives it
// on its own interface (SITE_FILE.md, "Network services").
#pragma once

#include <pugixml.hpp>
#include <string_view>
#include <vector>

#include "line_index.h"
#include "provisioner/site.h"

namespace provisioner::site {

// Reads one <NETSERVICE> element into vm.netservices; every problem goes to `problems` with
// its line. A second service of one kind on a VM is a problem, not a replacement.
void read_netservice(const pugi::xml_node& node, const LineIndex& lines, Vm& vm,
                     std::vector<Problem>& problems);

// "100mbit", "1.5gbit", "512kbit", "64000bit" -> bits per second (tc's decimal units), from
// 8 kbit to 100 gbit.
Result<std::uint64_t> parse_rate(std::string_view text);

// An IPv4 address, or a network as "a.b.c.d/len".
Result<std::string> parse_cidr(std::string_view text);

}  // namespace provisioner::site
