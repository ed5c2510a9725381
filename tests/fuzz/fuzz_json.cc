// base::parse_json on anything: refuses or parses, and what it parses can be dumped, copied
// and compared without exhausting the stack.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto parsed = base::parse_json({reinterpret_cast<const char*>(data), size}, {1 << 20, 64});
    if (!parsed) return 0;
    nlohmann::json copy = parsed.value;
    if (copy != parsed.value) __builtin_trap();
    (void)copy.dump();
    return 0;
}
