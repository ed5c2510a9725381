// Loss bookkeeping: RangeSet algebra, the fragment layout, and LossTracker's view of what a
// receiver misses and the loss it reports.
#include <doctest/doctest.h>

#include "multicast/fragment_layout.h"
#include "multicast/loss_tracker.h"
#include "multicast/range_set.h"

using namespace imaging::multicast;

TEST_CASE("RangeSet merges, splits and searches") {
    RangeSet s;
    s.add(10, 5);  // 10-14
    s.add(20, 5);  // 20-24
    s.add(15, 5);  // bridges: 10-24
    CHECK(s.ranges() == std::vector<Range>{{10, 15}});
    CHECK(s.size() == 15);
    s.remove({12, 2});  // 10-11, 14-24
    CHECK(s.ranges() == std::vector<Range>{{10, 2}, {14, 11}});
    CHECK(s.size() == 13);
    CHECK(s.contains(11));
    CHECK_FALSE(s.contains(12));
    CHECK(s.next_at_or_after(12) == 14u);
    CHECK(s.next_at_or_after(0) == 10u);
    CHECK_FALSE(s.next_at_or_after(25).has_value());
    CHECK(s.end_of_range_at(15) == 25u);
    CHECK(s.end_of_range_at(12) == 12u);
    s.add(0, 100);
    CHECK(s.ranges() == std::vector<Range>{{0, 100}});
    s.remove({0, 100});
    CHECK(s.empty());
    CHECK(s.size() == 0);
}

TEST_CASE("FragmentLayout numbers fragments across objects, skipping empty ones") {
    FragmentLayout l(100, {250, 0, 100, 1});
    CHECK(l.total() == 3 + 0 + 1 + 1);
    CHECK(l.count(0) == 3);
    CHECK(l.count(1) == 0);
    CHECK(l.first(2) == 3);
    CHECK(l.first(3) == 4);
    CHECK(l.fragment_length(0, 2) == 50);
    CHECK(l.fragment_length(2, 0) == 100);
    CHECK(l.locate(0) == std::pair<std::uint32_t, std::uint32_t>{0, 0});
    CHECK(l.locate(2) == std::pair<std::uint32_t, std::uint32_t>{0, 2});
    CHECK(l.locate(3) == std::pair<std::uint32_t, std::uint32_t>{2, 0});
    CHECK(l.locate(4) == std::pair<std::uint32_t, std::uint32_t>{3, 0});
}

TEST_CASE("LossTracker reports what is missing below the high-water mark") {
    LossTracker t(20);
    for (std::uint32_t g : {0u, 1u, 2u, 5u, 6u, 9u}) CHECK(t.mark(g));
    CHECK_FALSE(t.mark(5));  // duplicate
    CHECK(t.received() == 6);
    RangeSet none;
    CHECK(t.missing_ranges(10, none, 100) == std::vector<Range>{{3, 2}, {7, 2}});
    CHECK(t.missing_ranges(4, none, 100) == std::vector<Range>{{3, 1}});
    CHECK(t.missing_ranges(20, none, 2) == std::vector<Range>{{3, 2}, {7, 2}});

    SUBCASE("fragments already asked for (by us or others) are skipped") {
        RangeSet asked;
        asked.add(4, 4);  // 4-7
        CHECK(t.missing_ranges(10, asked, 100) == std::vector<Range>{{3, 1}, {8, 1}});
    }
    SUBCASE("a chunk that failed verification is forgotten and missed again") {
        t.forget(0, 3);
        CHECK(t.received() == 3);
        CHECK(t.missing_ranges(5, none, 100) == std::vector<Range>{{0, 5}});
    }
}

TEST_CASE("LossTracker samples loss over windows large enough to mean something") {
    const std::uint32_t w = LossTracker::kMinLossWindow;
    LossTracker t(10 * w);
    CHECK_FALSE(t.loss_sample(w).has_value());  // first POLL: before we joined, no signal
    for (std::uint32_t g = w; g < 3 * w; ++g)
        if (g % 10 != 0) t.mark(g);                  // 10% loss
    CHECK_FALSE(t.loss_sample(w + 10).has_value());  // window too small yet
    auto sample = t.loss_sample(3 * w);
    REQUIRE(sample.has_value());
    CHECK(*sample >= 99);
    CHECK(*sample <= 101);
    for (std::uint32_t g = 3 * w; g < 4 * w; ++g) t.mark(g);
    CHECK(t.loss_sample(4 * w) == std::uint16_t(0));
}
