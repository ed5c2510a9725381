// Every wire decoder (provisioner/wire) on anything, as provisionerd and the agents read each
// other's bodies: the first byte picks the message, the rest is its text. A decoder refuses or
// reads; what it reads encodes to a message that decodes to the same value. The Dom0 report's
// SAX reader (provisionerd's) reads nothing but what its DOM decoder reads, the same.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "provisioner/wire/dom0.h"
#include "provisioner/wire/guest.h"
#include "provisioner/wire/hello.h"
#include "provisioner/wire/imaging_report.h"
#include "provisioner/wire/vm_action.h"

namespace {

namespace wire = provisioner::wire;

template <class T>
void round_trip(std::string_view text) {
    auto read = wire::parse<T>(text);
    if (!read) {
        if (read.status().message().empty()) __builtin_trap();  // a refusal says why
        return;
    }
    auto again = wire::decode<T>(wire::encode(*read));
    if (!again || !(*again == *read)) __builtin_trap();
}

// The Dom0 report's two readers agree: what the SAX reader reads (provisionerd's path), the
// DOM decoder reads the same; what the DOM refuses, the SAX reader refuses.
void same_report(std::string_view text) {
    auto fast = wire::read_dom0_report(text);
    if (!fast) return;
    auto read = wire::parse<wire::Dom0Report>(text);
    if (!read || !(*read == *fast)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 12) {
        case 0:
            round_trip<wire::Hello>(text);
            break;
        case 1:
            round_trip<wire::Job>(text);
            break;
        case 2:
            round_trip<wire::HelloAnswer>(text);
            break;
        case 3:
            round_trip<wire::Progress>(text);
            break;
        case 4:
            round_trip<wire::ImagingResult>(text);
            break;
        case 5:
            round_trip<wire::Dom0Report>(text);
            same_report(text);
            break;
        case 6:
            round_trip<wire::Dom0Answer>(text);
            break;
        case 7:
            round_trip<wire::ActionAnswer>(text);
            break;
        case 8:
            round_trip<wire::VmAction>(text);
            break;
        case 9:
            round_trip<wire::GuestReport>(text);
            break;
        case 10:
            round_trip<wire::GuestAnswer>(text);
            break;
        case 11:
            round_trip<wire::Ready>(text);
            break;
    }
    return 0;
}
