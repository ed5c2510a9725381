// UDP segmentation offload framing (segment_batch.h): which datagrams of a send batch share a
// GSO buffer, and how a GRO buffer splits back into datagrams, short and cut ones included.
#include <doctest/doctest.h>

#include <vector>

#include "multicast/segment_batch.h"

using namespace imaging::multicast;

namespace {

const Endpoint kGroup{0xEFC04D01, 7700};
const Endpoint kPeer{0x0A000001, 7700};

struct Batch {
    std::vector<std::uint8_t> header = std::vector<std::uint8_t>(24, 1);
    std::vector<std::uint8_t> payload = std::vector<std::uint8_t>(9000, 2);
    std::vector<OutDatagram> out;
    // A datagram of `size` bytes (24 of header, the rest payload) to `to`.
    Batch& add(std::size_t size, Endpoint to = kGroup) {
        out.push_back(OutDatagram{to, std::span(header),
                                  std::span<const std::uint8_t>(payload).first(size - 24)});
        return *this;
    }
};

}  // namespace

TEST_CASE("GSO groups: equal datagrams to one endpoint share a buffer, a short one ends it") {
    Batch b;
    for (int i = 0; i < 5; ++i) b.add(1472);
    b.add(800);  // the end of an object: shorter, so it closes the group
    b.add(1472).add(1472);
    auto groups = plan_send_groups(b.out);
    CHECK(groups == std::vector<SendGroup>{{0, 6, 1472}, {6, 2, 1472}});
}

TEST_CASE("GSO groups: a longer datagram, another endpoint, or a lone one go apart") {
    Batch b;
    b.add(100).add(1472);  // longer after shorter: a new group
    b.add(1472, kPeer);    // another endpoint (a unicast reply)
    b.add(1472).add(1472).add(1472);
    b.add(60);  // a short last segment joins the group before it
    b.add(70);  // a lone datagram is plain
    auto groups = plan_send_groups(b.out);
    CHECK(groups ==
          std::vector<SendGroup>{{0, 1, 0}, {1, 1, 0}, {2, 1, 0}, {3, 4, 1472}, {7, 1, 0}});
}

TEST_CASE("GSO groups: the kernel's limits on segments and bytes split long runs") {
    Batch b;
    for (int i = 0; i < 100; ++i) b.add(1472);
    auto by_bytes = plan_send_groups(b.out);
    // 65507 bytes hold 44 datagrams of 1472.
    CHECK(by_bytes == std::vector<SendGroup>{{0, 44, 1472}, {44, 44, 1472}, {88, 12, 1472}});
    Batch small;
    for (int i = 0; i < 70; ++i) small.add(100);
    auto by_count = plan_send_groups(small.out);
    CHECK(by_count == std::vector<SendGroup>{{0, 64, 100}, {64, 6, 100}});
    CHECK(plan_send_groups({}).empty());
}

TEST_CASE("GRO split: coalesced datagrams, a short last segment") {
    std::vector<Segment> out;
    split_received(3 * 1472 + 500, 1472, false, out);
    CHECK(out == std::vector<Segment>{{0, 1472}, {1472, 1472}, {2944, 1472}, {4416, 500}});
    out.clear();
    split_received(2 * 1472, 1472, false, out);
    CHECK(out == std::vector<Segment>{{0, 1472}, {1472, 1472}});
}

TEST_CASE("GRO split: a plain datagram is one segment, whatever its size") {
    std::vector<Segment> out;
    split_received(1472, 0, false, out);
    split_received(300, 1472, false, out);  // one datagram, shorter than the segment size
    split_received(0, 0, false, out);
    CHECK(out == std::vector<Segment>{{0, 1472}, {0, 300}, {0, 0}});
}

TEST_CASE("GRO split: a truncated buffer keeps its whole segments and rejects the cut one") {
    std::vector<Segment> out;
    split_received(2 * 1472 + 100, 1472, true, out);
    CHECK(out == std::vector<Segment>{{0, 1472}, {1472, 1472}, {2944, 0}});
    out.clear();
    split_received(2 * 1472, 1472, true, out);  // cut at a boundary: every segment is whole
    CHECK(out == std::vector<Segment>{{0, 1472}, {1472, 1472}});
    out.clear();
    split_received(9000, 0, true, out);  // a plain datagram longer than the buffer
    split_received(1000, 1472, true, out);
    CHECK(out == std::vector<Segment>{{0, 0}, {0, 0}});
}
