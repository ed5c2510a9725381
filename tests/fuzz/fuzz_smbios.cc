// SMBIOS OEM strings (type 11), as a KVM guest's agent reads them from
// /sys/firmware/dmi/entries/11-N/raw: whoever defines the VM (or rewrote its definition) writes
// them, and the agent takes its settings from them (server, guest name, token). The input is one
// raw entry; what parses must be exactly what it says, and becomes settings as in smbios.cc.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "provisioner/agent/cmdline.h"
#include "provisioner/agent/smbios.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view raw(reinterpret_cast<const char*>(data), size);
    auto strings = provisioner::agent::parse_smbios_oem_strings(raw);
    if (!strings) return 0;
    // Accepted: a type 11 header of `length` bytes with its count, that many strings (none
    // empty, none with a NUL), then the set's terminator, all inside the entry. Writing them
    // out again gives the entry back, up to whatever follows it.
    const std::size_t length = static_cast<unsigned char>(raw[1]);
    if (raw[0] != 11 || length < 5 || length > size ||
        strings->size() != std::size_t(static_cast<unsigned char>(raw[4])))
        __builtin_trap();
    std::string again(raw.substr(0, length));
    for (const std::string& s : *strings) {
        if (s.empty() || s.find('\0') != std::string::npos) __builtin_trap();
        again += s;
        again += '\0';
    }
    again += strings->empty() ? std::string_view("\0\0", 2) : std::string_view("\0", 1);
    if (!raw.starts_with(again)) __builtin_trap();
    for (const std::string& s : *strings) (void)provisioner::agent::parse_kernel_cmdline(s);
    return 0;
}
