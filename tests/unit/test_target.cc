// Target: writes reach the file whatever their alignment (direct I/O for the aligned middle,
// the page cache for unaligned heads and tails), also from several threads at once and on
// filesystems that refuse O_DIRECT.
#include <doctest/doctest.h>

#include <sys/vfs.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <thread>

#include "imaging/target.h"
#include "test_util.h"

using namespace imaging;
using testutil::TempDir;

namespace {

std::vector<std::uint8_t> read_all(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Writes pieces of `expected` of awkward sizes at awkward offsets, from unaligned memory too,
// and checks what the file then holds.
void check_writes_land(const std::filesystem::path& file) {
    const std::size_t size = 3 * 1024 * 1024 + 1234;
    auto expected = testutil::random_bytes(size, 7);
    auto target = Target::open(file, size);
    REQUIRE_MESSAGE(target, target.status().message());
    // [offset, length) pieces covering the file: aligned, unaligned head, unaligned tail,
    // shorter than a block, inside one block, and a large one from an odd address.
    const std::vector<std::pair<std::size_t, std::size_t>> pieces = {
        {0, 4096},        {4096, 100},          {4196, 9000},    {13196, 3},
        {13199, 1 << 20}, {13199 + (1 << 20), 8192 - 13199 % 4096 + 4096},
    };
    std::size_t covered = 0;
    for (auto [offset, length] : pieces) {
        REQUIRE(offset == covered);
        REQUIRE(target.value()->write_at(offset, {expected.data() + offset, length}));
        covered = offset + length;
    }
    REQUIRE(target.value()->write_at(covered, {expected.data() + covered, size - covered}));
    REQUIRE(target.value()->sync());
    CHECK(read_all(file) == expected);

    // Overwrites of ranges written before, read back through the target itself.
    std::vector<std::uint8_t> patch(70000, 0xab);
    REQUIRE(target.value()->write_at(4095, patch));
    std::copy(patch.begin(), patch.end(), expected.begin() + 4095);
    std::vector<std::uint8_t> back(size);
    REQUIRE(target.value()->read_at(0, back));
    CHECK(back == expected);
}

}  // namespace

TEST_CASE("target: writes of any alignment land, on a disk filesystem") {
    TempDir dir;
    check_writes_land(dir / "out.raw");
}

TEST_CASE("target: writes land on tmpfs, which refuses O_DIRECT") {
    struct statfs fs {};
    if (::statfs("/dev/shm", &fs) != 0) return;  // no tmpfs here: nothing to check
    std::string tmpl = "/dev/shm/provisioner-target-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    check_writes_land(std::filesystem::path(tmpl) / "out.raw");
    std::filesystem::remove_all(tmpl);
}

TEST_CASE("target: threads writing neighbouring unaligned ranges do not lose each other's bytes") {
    TempDir dir;
    const std::size_t piece = 1 << 20 | 777;  // so that neighbours share a block
    const std::size_t count = 16;
    auto expected = testutil::random_bytes(piece * count, 9);
    auto target = Target::open(dir / "out.raw", expected.size());
    REQUIRE(target);
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (std::size_t t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (std::size_t i = t; i < count; i += 4)
                if (!target.value()->write_at(i * piece, {expected.data() + i * piece, piece}))
                    ++failures;
        });
    for (auto& th : threads) th.join();
    CHECK(failures == 0);
    REQUIRE(target.value()->sync());
    CHECK(read_all(dir / "out.raw") == expected);
}
