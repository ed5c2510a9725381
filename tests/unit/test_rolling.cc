#include <doctest/doctest.h>

#include <algorithm>

#include "block_signature.h"
#include "matcher.h"
#include "rolling_hash.h"
#include "test_util.h"

using namespace imaging::delta;

TEST_CASE("rolling the hash one byte equals hashing the new window") {
    auto data = testutil::random_bytes(3 * kBlockSize, 1);
    RollingHash rh(kBlockSize);
    std::uint64_t h = rh.of({data.data(), kBlockSize});
    for (std::size_t i = 0; i + kBlockSize < data.size(); ++i) {
        h = rh.roll(h, data[i], data[i + kBlockSize]);
        REQUIRE(h == rh.of({data.data() + i + 1, kBlockSize}));
    }
}

TEST_CASE("the weak checksum differs for blocks that differ in one byte") {
    std::vector<std::uint8_t> a(kBlockSize, 0), b(kBlockSize, 0);
    b[100] = 1;
    RollingHash rh(kBlockSize);
    CHECK(RollingHash::weak(rh.of(a)) != RollingHash::weak(rh.of(b)));
}

TEST_CASE("the matcher finds a block at an odd offset") {
    auto old_data = testutil::random_bytes(1 << 20, 2);
    const std::size_t odd = 12345;  // not a multiple of anything useful
    std::vector<std::uint8_t> block(old_data.begin() + odd, old_data.begin() + odd + kBlockSize);
    auto other = testutil::random_bytes(kBlockSize, 3);
    BlockMatcher matcher({chunk_block_sums(other)[0], chunk_block_sums(block)[0]});
    std::vector<BlockMatch> found;
    matcher.scan(old_data, old_data.size(), 1000000, found);
    REQUIRE(found.size() == 1);
    CHECK(found[0].wanted == 1);
    CHECK(found[0].offset == 1000000 + odd);
}

TEST_CASE("the matcher finds nothing in unrelated data and respects the start limit") {
    auto data = testutil::random_bytes(256 * 1024, 4);
    auto wanted = testutil::random_bytes(kBlockSize, 5);
    BlockMatcher matcher({chunk_block_sums(wanted)[0]});
    std::vector<BlockMatch> found;
    matcher.scan(data, data.size(), 0, found);
    CHECK(found.empty());

    // A block starting at 5000 is found when starts > 5000, not when the window stops before.
    std::vector<std::uint8_t> at5000(data.begin() + 5000, data.begin() + 5000 + kBlockSize);
    BlockMatcher m2({chunk_block_sums(at5000)[0]});
    m2.scan(data, 5000, 0, found);
    CHECK(found.empty());
    m2.scan(data, 5001, 0, found);
    REQUIRE(found.size() == 1);
    CHECK(found[0].offset == 5000);
}

TEST_CASE("block sums cover a short last block") {
    auto data = testutil::random_bytes(kBlockSize * 2 + 100, 6);
    auto sums = chunk_block_sums(data);
    REQUIRE(sums.size() == 3);
    CHECK(sums[2].strong == strong_hash({data.data() + 2 * kBlockSize, 100}));
}

TEST_CASE("the two-lane scan finds blocks in either half and across the middle") {
    auto data = testutil::random_bytes(600000, 8);
    const std::size_t starts = data.size() - kBlockSize + 1, mid = starts / 2;
    const std::size_t at[] = {17, mid - 100, mid + 1, starts - 1};
    std::vector<BlockSum> wanted;
    for (auto a : at) wanted.push_back(chunk_block_sums({data.data() + a, kBlockSize})[0]);
    BlockMatcher matcher(wanted);
    std::vector<BlockMatch> found;
    matcher.scan(data, starts, 0, found);
    std::sort(found.begin(), found.end(), [](auto& x, auto& y) { return x.offset < y.offset; });
    REQUIRE(found.size() == 4);
    for (std::size_t k = 0; k < 4; ++k) {
        CHECK(found[k].offset == at[k]);
        CHECK(found[k].wanted == k);
    }
}
