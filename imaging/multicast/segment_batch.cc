#include "segment_batch.h"

namespace imaging::multicast {

std::vector<SendGroup> plan_send_groups(std::span<const OutDatagram> batch,
                                        std::size_t max_segments, std::size_t max_bytes) {
    std::vector<SendGroup> groups;
    std::size_t i = 0;
    while (i < batch.size()) {
        const std::size_t size = batch[i].size();
        std::size_t n = 1, bytes = size;
        // A group ends after a shorter datagram: only the last segment may be short.
        bool open = size > 0;
        while (open && i + n < batch.size() && n < max_segments) {
            const OutDatagram& next = batch[i + n];
            if (!(next.to == batch[i].to) || next.size() > size || next.size() == 0 ||
                bytes + next.size() > max_bytes)
                break;
            bytes += next.size();
            open = next.size() == size;
            ++n;
        }
        groups.push_back(SendGroup{i, n, n > 1 ? size : 0});
        i += n;
    }
    return groups;
}

void split_received(std::size_t length, std::size_t segment_size, bool truncated,
                    std::vector<Segment>& out) {
    if (segment_size == 0 || length <= segment_size) {
        // One datagram; cut, it is nothing we can read.
        const bool cut = truncated && (segment_size == 0 || length < segment_size);
        out.push_back(Segment{0, cut ? 0 : length});
        return;
    }
    std::size_t offset = 0;
    for (; offset + segment_size <= length; offset += segment_size)
        out.push_back(Segment{offset, segment_size});
    if (offset < length) out.push_back(Segment{offset, truncated ? 0 : length - offset});
}

}  // namespace imaging::multicast
