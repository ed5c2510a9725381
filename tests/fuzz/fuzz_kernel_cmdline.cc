// The netboot agent's kernel command line (written by the iPXE script a host fetched over
// plain HTTP) and the SMBIOS OEM strings a machine's firmware hands the agent.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "provisioner/agent/cmdline.h"
#include "provisioner/agent/smbios.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)provisioner::agent::parse_kernel_cmdline(text);
    (void)provisioner::agent::parse_smbios_oem_strings(text);
    return 0;
}
