// The delta server's parser of a client's WANT message (chunk ranges to send).
#include <cstddef>
#include <cstdint>
#include <span>

#include "wire.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto items = imaging::delta::decode_want(std::span<const std::uint8_t>(data, size));
    if (items && imaging::delta::encode_want(*items).size() > size) __builtin_trap();
    return 0;
}
