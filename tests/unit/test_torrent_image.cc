// The image torrent: made from a packed image, accepted with the signing key, refused
// otherwise; chunk readiness as pieces arrive; a pack that is not the manifest's is caught.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "imaging/pack.h"
#include "imaging/torrent/chunk_assembler.h"
#include "imaging/torrent/chunk_writer.h"
#include "imaging/torrent/image_torrent.h"
#include "imaging/torrent/memory_pack.h"
#include "test_util.h"

namespace {

using namespace imaging;
using namespace imaging::torrent;

struct PackedFixture {
    testutil::TempDir dir;
    Manifest manifest;
    std::vector<std::uint8_t> raw;
    PackedFixture() {
        REQUIRE(generate_keypair(dir / "k"));
        raw = testutil::random_bytes(5 << 16, 11);
        raw.resize(8 << 16, 0);  // trailing zero chunks
        testutil::write_file(dir / "disk.raw", raw);
        auto key = SigningKey::load(dir / "k.key");
        REQUIRE(key);
        PackOptions options;
        options.chunk_size = 1 << 16;
        auto m = pack_image(dir / "disk.raw", dir / "img", *key, options);
        REQUIRE(m);
        manifest = *m;
    }
};

}  // namespace

TEST_CASE("image torrent: made, then accepted with the key that signed the manifest") {
    PackedFixture f;
    auto bytes = make_image_torrent(f.dir / "img", {.trackers = {"http://127.0.0.1:1/announce"}, .piece_size = 16 << 10});
    REQUIRE(bytes);
    auto again = make_image_torrent(f.dir / "img", {.trackers = {"http://127.0.0.1:1/announce"}, .piece_size = 16 << 10});
    REQUIRE(again);
    CHECK(*bytes == *again);  // deterministic: a seed can rebuild the torrent it was given

    auto pub = VerifyKey::load(f.dir / "k.pub");
    REQUIRE(pub);
    auto t = load_image_torrent(*bytes, *pub);
    REQUIRE(t);
    CHECK(t->manifest.to_json() == f.manifest.to_json());
    CHECK(t->info_hash.size() == 20);
    CHECK(t->info->v1());
    CHECK(!t->info->v2());
}

TEST_CASE("image torrent: refused with another key, or when it is not an image torrent") {
    PackedFixture f;
    auto bytes = make_image_torrent(f.dir / "img", {.trackers = {"http://127.0.0.1:1/announce"}});
    REQUIRE(bytes);
    REQUIRE(generate_keypair(f.dir / "other"));
    auto other = VerifyKey::load(f.dir / "other.pub");
    REQUIRE(other);
    auto refused = load_image_torrent(*bytes, *other);
    REQUIRE(!refused);
    CHECK(refused.status().message().find("not signed by the given key") != std::string::npos);

    std::string junk = "d4:infod4:name3:abcee";
    CHECK(!load_image_torrent_unverified(std::span<const char>(junk.data(), junk.size())));
}

TEST_CASE("image torrent: a pack whose size differs from the manifest is not made into a torrent") {
    PackedFixture f;
    std::filesystem::resize_file(f.dir / "img" / kPackFile, f.manifest.pack_size + 1);
    auto bytes = make_image_torrent(f.dir / "img", {.trackers = {"http://x/announce"}});
    REQUIRE(!bytes);
    CHECK(bytes.status().message().find("manifest says") != std::string::npos);
}

TEST_CASE("chunk assembler: a chunk is ready once every piece under its frame is in") {
    Manifest m;
    m.chunk_size = 100;
    m.raw_size = 400;
    m.pack_size = 90;
    m.chunks = {ChunkEntry{{}, 0, 30}, ChunkEntry{{}, 0, 0}, ChunkEntry{{}, 30, 50},
                ChunkEntry{{}, 80, 10}};
    ChunkAssembler a(m, 32);  // pieces [0,32) [32,64) [64,90)
    CHECK(a.pieces() == 3);
    CHECK(a.pending_chunks() == 3);
    CHECK(a.piece_done(1).empty());
    CHECK(a.piece_done(0) == std::vector<std::size_t>{0});
    CHECK(a.piece_done(0).empty());
    CHECK(a.piece_done(2) == std::vector<std::size_t>{2, 3});
    CHECK(a.pending_chunks() == 0);
    CHECK(a.piece_done(7).empty());
}

TEST_CASE("chunk writer: verified chunks are written; a foreign pack is refused, nothing written") {
    PackedFixture f;
    auto target = Target::open(f.dir / "out.raw", f.manifest.raw_size);
    REQUIRE(target);
    ChunkWriter good(f.manifest, f.dir / "img" / kPackFile, **target);
    REQUIRE(good.write_zero_chunks());
    for (std::size_t i = 0; i < f.manifest.chunks.size(); ++i) {
        if (!f.manifest.chunks[i].is_zero()) REQUIRE(good.write_chunk(i));
    }
    std::vector<std::uint8_t> back(f.raw.size());
    REQUIRE((*target)->read_at(0, back));
    CHECK(back == f.raw);

    auto forged = testutil::random_bytes(f.manifest.pack_size, 99);
    testutil::write_file(f.dir / "forged.pack", forged);
    auto target2 = Target::open(f.dir / "out2.raw", f.manifest.raw_size);
    REQUIRE(target2);
    ChunkWriter bad(f.manifest, f.dir / "forged.pack", **target2);
    Status s = bad.write_chunk(0);
    REQUIRE(!s);
    CHECK(s.message().find("does not match its signed manifest") != std::string::npos);
    std::vector<std::uint8_t> first(f.manifest.chunk_length(0));
    REQUIRE((*target2)->read_at(0, first));
    CHECK(std::all_of(first.begin(), first.end(), [](auto b) { return b == 0; }));
}

TEST_CASE("chunk writer: from a pack in memory, chunks decode on several threads at once") {
    PackedFixture f;
    auto pack_bytes = testutil::read_file(f.dir / "img" / kPackFile);
    MemoryPack pack(f.manifest.pack_size);
    REQUIRE(pack_bytes.size() == pack.size());
    std::memcpy(pack.data(), pack_bytes.data(), pack.size());
    CHECK(!pack.range(pack.size(), 1));
    CHECK(!pack.range(1, pack.size()));
    CHECK(pack.range(pack.size(), 0));

    auto target = Target::open(f.dir / "out.raw", f.manifest.raw_size);
    REQUIRE(target);
    ChunkWriter writer(f.manifest, pack, **target);
    CHECK(writer.in_memory());
    REQUIRE(writer.write_zero_chunks());
    std::vector<std::size_t> stored;
    for (std::size_t i = 0; i < f.manifest.chunks.size(); ++i)
        if (!f.manifest.chunks[i].is_zero()) stored.push_back(i);
    std::atomic<int> failures{0};
    std::vector<std::thread> workers;
    for (std::size_t w = 0; w < 3; ++w) {
        workers.emplace_back([&, w] {
            for (std::size_t k = w; k < stored.size(); k += 3)
                if (!writer.write_chunk(stored[k])) ++failures;
        });
    }
    for (auto& t : workers) t.join();
    CHECK(failures == 0);
    CHECK(writer.chunks_written() == stored.size());
    std::vector<std::uint8_t> back(f.raw.size());
    REQUIRE((*target)->read_at(0, back));
    CHECK(back == f.raw);

    // A frame altered in memory (a piece that passed a forged torrent's hashes) is refused.
    pack.data()[f.manifest.chunks[stored[0]].pack_offset + 7] ^= 0x5a;
    auto target2 = Target::open(f.dir / "out2.raw", f.manifest.raw_size);
    REQUIRE(target2);
    ChunkWriter bad(f.manifest, pack, **target2);
    Status s = bad.write_chunk(stored[0]);
    REQUIRE(!s);
    CHECK(s.message().find("does not match its signed manifest") != std::string::npos);
    CHECK(bad.chunks_written() == 0);
}

TEST_CASE("memory pack: a pack larger than half the available memory goes to a staging file") {
    CHECK(pack_fits_in_memory(1 << 20));
    CHECK(!pack_fits_in_memory(std::uint64_t{1} << 62));
}

TEST_CASE("memory pack: a seed's pack file is mapped read-only, byte for byte") {
    PackedFixture f;
    auto mapped = MemoryPack::map_file(f.dir / "img" / "chunks.pack");
    REQUIRE(mapped);
    auto bytes = testutil::read_file(f.dir / "img" / "chunks.pack");
    REQUIRE((*mapped)->size() == bytes.size());
    CHECK(!(*mapped)->writable());
    CHECK(std::memcmp((*mapped)->data(), bytes.data(), bytes.size()) == 0);
    CHECK(!(*mapped)->range(bytes.size() - 1, 2));

    MemoryPack receiving(16);
    CHECK(receiving.writable());

    auto missing = MemoryPack::map_file(f.dir / "img" / "no.pack");
    REQUIRE(!missing);
    CHECK(missing.status().message().find("no.pack") != std::string::npos);
}
