// A rack server's image cache (provisioner/server/rack_image_cache.h): copies fetched from a
// peer's delta server by pack receive, updates that move only the changed chunks, a peer's
// corrupted answer refused with the old copies kept, temporaries of a killed fetch swept,
// eviction under the size limit (least recently used by the FakeClock, never an image a
// running deployment needs), and the publication of peers' sources (image_peers.h).
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <mutex>

#include "base/clock.h"
#include "image_peers.h"
#include "imaging/delivery.h"
#include "imaging/pack.h"
#include "imaging/secret.h"
#include "imaging/signing.h"
#include "rack_image_cache.h"
#include "server.h"
#include "test_delta_server.h"
#include "test_util.h"

using namespace provisioner;
using namespace provisioner::server;
using deltatest::RunningServer;
using testutil::TempDir;

namespace {

constexpr std::uint32_t kChunk = 64 * 1024;

struct CacheFixture {
    TempDir dir;
    base::FakeClock clock;
    imaging::Secret secret = *imaging::random_secret();
    std::map<std::string, Image> images;  // "dom0@1", "dom0@2", "other@1"

    CacheFixture() {
        auto v1 = testutil::sample_image(12, kChunk, 10);
        auto v2 = v1;
        for (std::size_t k = 0; k < 300; ++k) v2[kChunk + 7000 + k] ^= 0xff;
        auto fresh = testutil::random_bytes(kChunk, 99);
        std::copy(fresh.begin(), fresh.end(), v2.begin() + 7 * kChunk);
        testutil::write_file(dir / "v1", v1);
        testutil::write_file(dir / "v2", v2);
        testutil::write_file(dir / "o1", testutil::sample_image(12, kChunk, 500));
        REQUIRE(imaging::generate_keypair(dir / "site"));
        auto signing = imaging::SigningKey::load(dir / "site.key");
        REQUIRE(signing);
        ImageId id = 1;
        for (auto [raw, name, version] :
             {std::tuple{"v1", "dom0", "1"}, {"v2", "dom0", "2"}, {"o1", "other", "1"}}) {
            imaging::PackOptions po;
            po.chunk_size = kChunk;
            po.level = 3;
            po.name = name;
            po.version = version;
            const std::string label = std::string(name) + "@" + version;
            auto m = imaging::pack_image(dir / raw, dir / label, *signing, po);
            REQUIRE(m);
            Image image;
            image.id = id++;
            image.name = name;
            image.version = version;
            image.image_sha256 = imaging::to_hex(m->image_sha256);
            image.stored_size = m->pack_size;
            image.path = (dir / label).string();
            images[label] = image;
        }
    }
    std::unique_ptr<RackImageCache> open(std::uint64_t max_bytes = 1ull << 30) {
        auto cache = RackImageCache::open(
            {dir / "cache", max_bytes, dir / "site.pub", std::chrono::seconds(5)}, clock);
        REQUIRE_MESSAGE(cache, cache.status().message());
        return std::move(*cache);
    }
    // A peer's delta server of label, and the source a peer would read in the store.
    std::unique_ptr<RunningServer> serve(const std::string& label) {
        return std::make_unique<RunningServer>(RunningServer::options(dir / label, secret));
    }
    PeerSource source(const RunningServer& server) const {
        return {"pvA", server.address(), "peers", imaging::receiver_key(secret, "peers")};
    }
    Result<RackImageCache::Fetched> fetch(RackImageCache& cache, const std::string& label,
                                          const std::set<std::string>& needed = {}) {
        auto server = serve(label);
        return cache.fetch(images.at(label), source(*server), needed);
    }
};

}  // namespace

TEST_CASE(
    "a rack server's cache fetches an image from a peer, then its update by the changed chunks") {
    CacheFixture f;
    auto cache = f.open();
    auto got = f.fetch(*cache, "dom0@1");
    REQUIRE_MESSAGE(got, got.status().message());
    CHECK(got->report.chunks_fetched == 8);
    CHECK(got->basis.empty());
    auto copy = cache->path_of(f.images["dom0@1"]);
    REQUIRE(copy);
    CHECK(imaging::load_manifest(*copy, *imaging::VerifyKey::load(f.dir / "site.pub")));
    CHECK_FALSE(cache->has(f.images["dom0@2"]));

    f.clock.advance(std::chrono::seconds(1));
    auto update = f.fetch(*cache, "dom0@2");
    REQUIRE_MESSAGE(update, update.status().message());
    CHECK(update->report.chunks_fetched == 2);
    CHECK(update->report.chunks_reused == 6);
    CHECK(update->basis == "dom0@1");
    CHECK(cache->has(f.images["dom0@2"]));
    CHECK(cache->stored_bytes() == f.images["dom0@1"].stored_size + f.images["dom0@2"].stored_size);

    // Held already: nothing moves (no server is even asked).
    auto again = cache->fetch(f.images["dom0@2"], {"pvA", "127.0.0.1:1", "peers", {}}, {});
    REQUIRE(again);
    CHECK(again->report.chunks_fetched == 0);
}

TEST_CASE(
    "the cache refuses a peer's corrupted image and keeps what it had; a reopen sweeps a killed "
    "fetch") {
    CacheFixture f;
    auto cache = f.open();
    REQUIRE(f.fetch(*cache, "dom0@1"));
    // The peer's copy of dom0@2 is damaged after its signatures were made: its manifest still
    // verifies, a chunk does not.
    { auto good = f.serve("dom0@2"); }
    auto m = imaging::load_manifest_unverified(f.dir / "dom0@2");
    REQUIRE(m);
    {
        std::fstream pack(f.dir / "dom0@2/chunks.pack",
                          std::ios::in | std::ios::out | std::ios::binary);
        pack.seekp(std::streamoff(m->chunks[7].pack_offset + 100));
        pack.put('\x5a');
    }
    auto bad = f.fetch(*cache, "dom0@2");
    REQUIRE_FALSE(bad);
    CHECK_MESSAGE(bad.status().message().find("fetching dom0@2 from pvA") != std::string::npos,
                  bad.status().message());
    CHECK_FALSE(cache->has(f.images["dom0@2"]));
    CHECK(cache->has(f.images["dom0@1"]));

    // A killed fetch's temporary, and a directory that is no image of ours: gone at reopen.
    std::filesystem::create_directories(f.dir / "cache/.3-abc.part-77-1");
    std::filesystem::create_directories(f.dir / "cache/9-junk");
    cache.reset();
    cache = f.open();
    CHECK(cache->copies().size() == 1);
    CHECK(cache->check_all() == 1);  // its chunks read back: whole
    CHECK(cache->has(f.images["dom0@1"]));
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(f.dir / "cache"))
        ++entries;
    CHECK(entries == 1);
}

TEST_CASE(
    "at start every chunk of a cached copy is checked; a copy that does not match is removed") {
    CacheFixture f;
    auto cache = f.open();
    REQUIRE(f.fetch(*cache, "dom0@1"));
    REQUIRE(f.fetch(*cache, "other@1"));
    const auto dir = cache->path_of(f.images["dom0@1"]);
    REQUIRE(dir);
    cache.reset();
    // A byte of one chunk of the held copy changes on disk while the server is down: its
    // manifest still verifies, the chunk does not.
    auto m = imaging::load_manifest_unverified(*dir);
    REQUIRE(m);
    std::size_t bad = 0;
    while (m->chunks[bad].is_zero()) ++bad;
    {
        std::fstream pack(*dir / "chunks.pack", std::ios::in | std::ios::out | std::ios::binary);
        pack.seekg(std::streamoff(m->chunks[bad].pack_offset + 20));
        const char was = char(pack.get());
        pack.seekp(std::streamoff(m->chunks[bad].pack_offset + 20));
        pack.put(char(was ^ 0x5a));
    }

    cache = f.open();
    // Held (never fetched again meanwhile), but not served before its chunks are checked.
    CHECK(cache->copies().size() == 2);
    CHECK_FALSE(cache->has(f.images["dom0@1"]));
    CHECK_FALSE(cache->path_of(f.images["other@1"]).has_value());
    std::mutex mu;  // the checking thread reports, and fetch() when it checks a copy itself
    std::vector<std::pair<std::string, bool>> lines;
    cache->start_checking([&](const std::string& line, bool dropped) {
        std::lock_guard lock(mu);
        lines.emplace_back(line, dropped);
    });
    // A fetch of a copy not checked yet checks it, or waits for the other thread's verdict; a
    // whole copy asks no peer.
    auto other = cache->fetch(f.images["other@1"], {"pvA", "127.0.0.1:1", "peers", {}}, {});
    REQUIRE_MESSAGE(other, other.status().message());
    CHECK(other->report.chunks_fetched == 0);
    CHECK(cache->has(f.images["other@1"]));
    CHECK(cache->path_of(f.images["other@1"]).has_value());
    // The damaged copy is removed, so its fetch asks the peer (here none answers).
    auto dead = cache->fetch(f.images["dom0@1"], {"pvA", "127.0.0.1:1", "peers", {}}, {});
    CHECK_FALSE(dead);
    CHECK_FALSE(cache->has(f.images["dom0@1"]));
    CHECK_FALSE(std::filesystem::exists(*dir));
    CHECK(cache->copies().size() == 1);
    CHECK(cache->check_all() == 0);  // nothing left to check
    std::lock_guard lock(mu);
    REQUIRE(lines.size() == 2);
    std::sort(lines.begin(), lines.end(),
              [](const auto& a, const auto& b) { return a.second < b.second; });
    CHECK_FALSE(lines[0].second);
    CHECK_MESSAGE(lines[0].first.find("the copy of other@1 held in") != std::string::npos,
                  lines[0].first);
    CHECK(lines[0].first.find("chunks match its manifest") != std::string::npos);
    CHECK(lines[1].second);
    CHECK_MESSAGE(lines[1].first.find("the copy of dom0@1 held in " + dir->string() +
                                      " does not match its manifest (chunk " +
                                      std::to_string(bad)) != std::string::npos,
                  lines[1].first);
    CHECK(lines[1].first.find("removed; it is fetched again") != std::string::npos);

    // Fetched again, afresh.
    auto again = f.fetch(*cache, "dom0@1");
    REQUIRE_MESSAGE(again, again.status().message());
    CHECK(again->report.chunks_fetched == 8);
    CHECK(cache->has(f.images["dom0@1"]));
}

TEST_CASE("the cache evicts the least recently used image no deployment needs, else refuses") {
    CacheFixture f;
    const std::uint64_t one =
        std::max(f.images["dom0@1"].stored_size, f.images["other@1"].stored_size);
    auto cache = f.open(2 * one + one / 2);  // room for two images, not three
    REQUIRE(f.fetch(*cache, "dom0@1"));
    f.clock.advance(std::chrono::seconds(1));
    REQUIRE(f.fetch(*cache, "other@1"));
    f.clock.advance(std::chrono::seconds(1));
    (void)cache->path_of(f.images["dom0@1"]);  // used since: other@1 is now the older

    // Both needed by running deployments: refused, nothing removed.
    const std::set<std::string> both{f.images["dom0@1"].image_sha256,
                                     f.images["other@1"].image_sha256};
    auto refused = f.fetch(*cache, "dom0@2", both);
    REQUIRE_FALSE(refused);
    CHECK(refused.status().message().find("cannot hold dom0@2") != std::string::npos);
    CHECK(cache->copies().size() == 2);

    // None needed: other@1 goes first, though dom0@1 was fetched earlier; dom0@1 is dom0@2's
    // basis and stays, so the update still moves two chunks.
    auto got = f.fetch(*cache, "dom0@2");
    REQUIRE_MESSAGE(got, got.status().message());
    CHECK(got->evicted == std::vector<std::string>{"other@1"});
    CHECK(got->report.chunks_fetched == 2);
    CHECK_FALSE(cache->has(f.images["other@1"]));
    CHECK_FALSE(std::filesystem::exists(f.dir / "cache" /
                                        ("3-" + f.images["other@1"].image_sha256.substr(0, 16))));
}

TEST_CASE("a server's published image sources open only under the site key, for their image") {
    const std::string key = "site key text", other = "another site";
    PeerSource s{"", "10.0.0.1:20000", "peers", *imaging::random_secret()};
    const std::string value = encode_peer_sources(key, "pvA", {{7, s}});
    auto got = decode_peer_source(key, "pvA", value, 7);
    REQUIRE(got);
    REQUIRE(*got);
    CHECK((*got)->server == "pvA");
    CHECK((*got)->address == "10.0.0.1:20000");
    CHECK((*got)->key == s.key);
    CHECK(value.find(imaging::secret_to_hex(s.key)) == std::string::npos);  // sealed
    auto absent = decode_peer_source(key, "pvA", value, 8);
    REQUIRE(absent);
    CHECK_FALSE(*absent);
    CHECK_FALSE(decode_peer_source(other, "pvA", value, 7));  // another site's key
    CHECK_FALSE(decode_peer_source(key, "pvB", value, 7));    // moved to another server's name
    CHECK_FALSE(decode_peer_source(key, "pvA", "[1]", 7));
}
