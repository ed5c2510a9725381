// The netboot agent's kernel command line (written by the iPXE script a host fetched over
// plain HTTP), the SMBIOS OEM strings a machine's firmware hands the agent, and the seed's
// provisioner.ca_pem (base64 of the CA's PEM), which the Dom0 agent decodes when it starts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "provisioner/agent/cmdline.h"
#include "provisioner/agent/smbios.h"

namespace {

using provisioner::agent::base64_decode;
using provisioner::agent::base64_encode;

// Whatever decodes is the one encoding of what it decodes to: no bytes invented by padding,
// whitespace or bits past the end.
void check_decode(std::string_view text) {
    const std::string decoded = base64_decode(text);
    if (!decoded.empty() && base64_encode(decoded) != text) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto params = provisioner::agent::parse_kernel_cmdline(text);
    (void)provisioner::agent::parse_smbios_oem_strings(text);
    if (auto ca = params.find(provisioner::agent::kCmdlineCaPem); ca != params.end())
        check_decode(ca->second);
    check_decode(text);
    if (base64_decode(base64_encode(text)) != text) __builtin_trap();
    return 0;
}
