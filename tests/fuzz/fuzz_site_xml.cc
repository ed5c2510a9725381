// The site file: XSM's XML, uploaded through the API by any operator and read by every host.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "provisioner/site.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto parsed = provisioner::site::parse_site({reinterpret_cast<const char*>(data), size});
    (void)parsed.summary();
    return 0;
}
