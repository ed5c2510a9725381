#include "wire.h"

namespace imaging::delta {

std::vector<std::uint8_t> encode_want(const std::vector<WantItem>& items) {
    ByteWriter w;
    w.u32(std::uint32_t(items.size()));
    for (const auto& it : items) {
        w.u32(it.chunk);
        w.u8(it.whole_frame ? 1 : 0);
        if (it.whole_frame) continue;
        w.u32(std::uint32_t(it.ranges.size()));
        for (auto [off, len] : it.ranges) w.u32(off), w.u32(len);
    }
    return std::move(w.data());
}

Result<std::vector<WantItem>> decode_want(std::span<const std::uint8_t> body) {
    ByteReader r(body);
    std::uint32_t n = r.u32();
    // Each item takes at least 5 bytes: a count beyond that is a lie, not a reason to allocate.
    if (r.failed() || n > r.remaining() / 5) return Status::error("malformed want: bad item count");
    std::vector<WantItem> items(n);
    for (auto& it : items) {
        it.chunk = r.u32();
        it.whole_frame = r.u8() != 0;
        if (it.whole_frame) continue;
        std::uint32_t ranges = r.u32();
        if (r.failed() || ranges > r.remaining() / 8) return Status::error("malformed want: bad range count");
        it.ranges.resize(ranges);
        for (auto& [off, len] : it.ranges) off = r.u32(), len = r.u32();
    }
    if (r.failed() || r.remaining() != 0) return Status::error("malformed want");
    return items;
}

}  // namespace imaging::delta
