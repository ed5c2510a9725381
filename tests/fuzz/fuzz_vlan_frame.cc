// Frames from the provisioning LAN as the Dom0 agent's user-space VLAN trunk reads them
// (provisioner/agent/vlan_trunk.h): anyone on that LAN can send any bytes, tagged or not,
// with or without the kernel's tag metadata. What untag_frame hands a VLAN's port is the
// frame without its one outer tag, for a VLAN 1-4095 only, and tagging it again gives the
// frame back (the priority bits aside); what tag_frame puts on the trunk untags to its input.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "provisioner/agent/vlan_trunk.h"

namespace {

using provisioner::agent::tag_frame;
using provisioner::agent::untag_frame;

void check(bool ok) {
    if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    // The first two bytes: the metadata's tag (when the third byte's low bit says it is
    // valid) and the VLAN to tag with; the rest is the frame.
    const std::uint16_t aux = std::uint16_t((data[0] << 8) | data[1]);
    std::string_view frame(reinterpret_cast<const char*>(data) + 2, size - 2);

    if (auto out = untag_frame(frame, std::nullopt)) {
        check(out->vid >= 1 && out->vid <= 4095);
        check(out->frame.size() + 4 == frame.size());
        check(out->frame.substr(0, 12) == frame.substr(0, 12));
        check(out->frame.substr(12) == frame.substr(16));
        const std::string again = tag_frame(out->frame, out->vid);
        check(again.size() == frame.size());
        check(again.substr(0, 14) == frame.substr(0, 14));
        check((std::uint8_t(again[14]) & 0x0f) == (std::uint8_t(frame[14]) & 0x0f));
        check(again.substr(15) == frame.substr(15));
    } else {
        // Refused: too short, untagged, or VLAN 0 (priority tagging only).
        const bool tagged = frame.size() >= 18 && std::uint8_t(frame[12]) == 0x81 &&
                            std::uint8_t(frame[13]) == 0x00;
        check(!tagged || (((std::uint8_t(frame[14]) & 0x0f) << 8) | std::uint8_t(frame[15])) == 0);
    }

    if (auto out = untag_frame(frame, aux)) {
        check(out->vid == (aux & 0x0fff) && out->vid != 0);
        check(out->frame == frame);  // the kernel took the tag off already
    } else {
        check(frame.size() < 14 || (aux & 0x0fff) == 0);
    }

    const std::uint16_t vid = aux & 0x0fff;
    const std::string tagged = tag_frame(frame, vid);
    if (frame.size() < 14) {
        check(tagged.empty());
        return 0;
    }
    check(tagged.size() == frame.size() + 4);
    auto back = untag_frame(tagged, std::nullopt);
    if (vid == 0) {
        check(!back);
    } else {
        check(back && back->vid == vid && back->frame == frame);
    }
    return 0;
}
