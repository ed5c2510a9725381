// The erasure code (any e distinct repair symbols rebuild any e losses of a block) and the
// sender's repair-symbol queue (requests merged per block, fresh indices, in-flight skipped).
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "multicast/erasure_code.h"
#include "multicast/fec_queue.h"

using namespace imaging::multicast;

namespace {

std::vector<std::vector<std::uint8_t>> random_block(std::mt19937& rng, std::uint32_t k,
                                                    std::size_t payload, std::size_t last) {
    std::vector<std::vector<std::uint8_t>> block(k);
    for (std::uint32_t i = 0; i < k; ++i) {
        block[i].resize(i + 1 == k ? last : payload);
        for (auto& b : block[i]) b = std::uint8_t(rng());
    }
    return block;
}

}  // namespace

TEST_CASE("any e distinct repair symbols rebuild any e lost fragments of a block") {
    std::mt19937 rng(7);
    const std::size_t payload = 1448;
    for (int trial = 0; trial < 60; ++trial) {
        std::uint32_t k = 2 + rng() % (kParityBlock - 1);
        auto block = random_block(rng, k, payload, 1 + rng() % payload);  // short last fragment
        std::vector<std::uint32_t> positions(k);
        std::iota(positions.begin(), positions.end(), 0u);
        std::shuffle(positions.begin(), positions.end(), rng);
        std::uint32_t e = 1 + rng() % k;  // up to the whole block
        std::vector<std::span<const std::uint8_t>> data(block.begin(), block.end());
        std::vector<std::span<const std::uint8_t>> all = data;
        for (std::uint32_t i = 0; i < e; ++i) data[positions[i]] = {};
        // e distinct indices from anywhere in the range: proactive ones, later ones.
        std::vector<std::uint32_t> indices(kMaxRepairIndex);
        std::iota(indices.begin(), indices.end(), 0u);
        std::shuffle(indices.begin(), indices.end(), rng);
        std::vector<std::vector<std::uint8_t>> symbols(e, std::vector<std::uint8_t>(payload));
        std::vector<RepairSymbol> repairs;
        for (std::uint32_t i = 0; i < e; ++i) {
            encode_repair(all, indices[i], symbols[i]);
            repairs.push_back(RepairSymbol{indices[i], symbols[i]});
        }
        auto rebuilt = decode_block(data, repairs, payload);
        REQUIRE(rebuilt);
        std::vector<std::uint32_t> lost(positions.begin(), positions.begin() + e);
        std::sort(lost.begin(), lost.end());
        for (std::uint32_t i = 0; i < e; ++i) {
            auto got = (*rebuilt)[i];
            got.resize(block[lost[i]].size());
            CHECK(got == block[lost[i]]);
        }
    }
}

TEST_CASE("a repair symbol of one fragment is its Cauchy coefficient times it, for every byte") {
    // An independent GF(2^8) (polynomial 0x11d) multiply, bit by bit: pins the region multiply
    // (table lookups, or PSHUFB 32 bytes at a time where the CPU has AVX2, with a scalar tail)
    // to the field's arithmetic for every coefficient used and every byte value.
    auto gf_mul = [](unsigned a, unsigned b) {
        unsigned r = 0;
        for (; b; b >>= 1, a = (a << 1) ^ ((a & 0x80) ? 0x11d : 0)) r ^= (b & 1) ? a : 0;
        return std::uint8_t(r & 0xff);
    };
    std::vector<std::uint8_t> fragment(256 * 3 + 7);  // every byte value, and a tail
    for (std::size_t i = 0; i < fragment.size(); ++i) fragment[i] = std::uint8_t(i * 97 + 5);
    std::vector<std::span<const std::uint8_t>> one{fragment};
    for (std::uint32_t index = 0; index < kMaxRepairIndex; ++index) {
        std::vector<std::uint8_t> symbol(fragment.size());
        encode_repair(one, index, symbol);
        const unsigned x = (kParityBlock + index) & 0xff;  // the coefficient: 1 / (x ^ 0)
        REQUIRE(x != 0);
        unsigned c = 1;
        while (gf_mul(c, x) != 1) ++c;
        bool all = true;
        for (std::size_t i = 0; i < fragment.size(); ++i)
            all = all && symbol[i] == gf_mul(c, fragment[i]);
        CHECK_MESSAGE(all, "repair index " << index);
    }
}

TEST_CASE("too few distinct symbols rebuild nothing; a repeated index counts once") {
    std::mt19937 rng(9);
    auto block = random_block(rng, 8, 256, 256);
    std::vector<std::span<const std::uint8_t>> all(block.begin(), block.end());
    std::vector<std::uint8_t> s0(256), s1(256);
    encode_repair(all, 3, s0);
    encode_repair(all, 3, s1);
    auto data = all;
    data[1] = {};
    data[5] = {};
    std::vector<RepairSymbol> same{{3, s0}, {3, s1}};
    CHECK_FALSE(decode_block(data, same, 256));
    std::vector<RepairSymbol> out_of_range{{3, s0}, {kMaxRepairIndex, s1}};
    CHECK_FALSE(decode_block(data, out_of_range, 256));
    encode_repair(all, 200, s1);
    std::vector<RepairSymbol> two{{200, s1}, {3, s0}};
    auto rebuilt = decode_block(data, two, 256);
    REQUIRE(rebuilt);
    CHECK((*rebuilt)[0] == block[1]);
    CHECK((*rebuilt)[1] == block[5]);
}

TEST_CASE("FecQueue merges requests per block into the largest and gives fresh indices") {
    FecQueue q;
    CHECK(q.request(100, 2, 3) == 2);
    CHECK(q.request(100, 3, 3) == 1);  // another receiver needs 3: one more serves both
    CHECK(q.request(100, 1, 3) == 0);
    q.add_proactive(200, 2);
    CHECK(q.size() == 5);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> sent;
    while (auto s = q.pop(4)) sent.push_back({s->block, s->index});
    CHECK(sent == std::vector<std::pair<std::uint32_t, std::uint32_t>>{
                      {100, 0}, {100, 1}, {100, 2}, {200, 0}, {200, 1}});
    // A request answering POLL 4 was made before those symbols arrived: in flight, skipped.
    CHECK(q.request(100, 2, 4) == 0);
    // One answering POLL 5 means they were lost too: new symbols, new indices.
    CHECK(q.request(100, 2, 5) == 2);
    auto s = q.pop(6);
    REQUIRE(s);
    CHECK(s->index == 3);
    CHECK(q.request(300, 99, 1) == kParityBlock);  // never more than a block holds
}
