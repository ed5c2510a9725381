// The kernel command line as iPXE hands it to the netboot kernel (pxe/ipxe_script.cc renders
// it): "... provisioner.server=http://10.77.0.1:8080 provisioner.mode=image
// provisioner.mac=52:54:00:00:00:01 provisioner.token=T".
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "imaging/status.h"

namespace provisioner::agent {

// The keys the agent reads; the same strings as pxe/include/pxe/ipxe_script.h (kCmdline*),
// repeated here so that the agent does not link the pxe library.
inline constexpr const char* kCmdlineServer = "provisioner.server";
inline constexpr const char* kCmdlineMode = "provisioner.mode";  // "image" or "discover"
inline constexpr const char* kCmdlineMac = "provisioner.mac";
inline constexpr const char* kCmdlineToken = "provisioner.token";
// The CA file an https:// server is verified by (a path inside the initramfs); absent:
// kDefaultCaFile, where images/build-netboot --ca puts it.
inline constexpr const char* kCmdlineCa = "provisioner.ca";
inline constexpr const char* kDefaultCaFile = "/etc/provisioner/ca.crt";
// The CA itself, base64 of its PEM: what the netboot agent writes to the seed partition
// (seed.h) for the imaged system's agent, which has no initramfs to carry it.
inline constexpr const char* kCmdlineCaPem = "provisioner.ca_pem";

std::string base64_encode(std::string_view bytes);
// Empty when text is not base64 as base64_encode writes it (padded, no whitespace, '=' only at
// the end).
std::string base64_decode(std::string_view text);

// Splits a command line the way the kernel does: words separated by whitespace, double quotes
// group ("key=a b" and key="a b" both give a b) and are removed; a word without '=' maps to "".
// A repeated key keeps its last value.
std::map<std::string, std::string> parse_kernel_cmdline(std::string_view text);

// Reads and parses FILE: normally /proc/cmdline; Dom0 reads its seed partition (seed.h), whose
// text ends at the first NUL. At most kMaxCmdlineBytes are read.
inline constexpr std::size_t kMaxCmdlineBytes = 64 << 10;
imaging::Result<std::map<std::string, std::string>> read_kernel_cmdline(
    const std::filesystem::path& file);

}  // namespace provisioner::agent
