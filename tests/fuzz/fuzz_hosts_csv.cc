// `provisioner host import rack.csv`: the CSV body of POST /api/v1/hosts/import.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "provisioner/host_import.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto parsed = provisioner::parse_hosts_csv({reinterpret_cast<const char*>(data), size});
    (void)parsed.hosts.size();
    return 0;
}
