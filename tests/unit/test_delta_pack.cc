// A delta receive into an image directory (delta/pack_receiver.h): what a rack server's image
// cache fetches from its peers. The copy is the image itself (same manifest, same pack), an
// update moves only the chunks that changed, a corrupted or cut answer leaves nothing behind.
#include <doctest/doctest.h>
#include <sys/socket.h>

#include <fstream>
#include <thread>

#include "imaging/delivery.h"
#include "imaging/pack.h"
#include "imaging/packed_image.h"
#include "imaging/secret.h"
#include "imaging/signing.h"
#include "framed_stream.h"
#include "pack_receiver.h"
#include "wire.h"
#include "server.h"
#include "test_delta_server.h"
#include "test_util.h"

using namespace imaging;
using namespace imaging::delta;
using deltatest::RunningServer;
using testutil::TempDir;

namespace {

using deltatest::kChunk;

std::string file_text(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// v1 and v2 of one image, signed with one key: v2 differs from v1 in chunks 1 and 7.
struct PackFixture {
    TempDir dir;
    std::unique_ptr<VerifyKey> key;

    PackFixture() {
        auto v1 = testutil::sample_image(12, kChunk, 10);  // chunks 2, 5, 8, 11 are zero
        auto v2 = v1;
        for (std::size_t k = 0; k < 300; ++k) v2[kChunk + 7000 + k] ^= 0xff;
        auto fresh = testutil::random_bytes(kChunk, 99);
        std::copy(fresh.begin(), fresh.end(), v2.begin() + 7 * kChunk);
        testutil::write_file(dir / "v1", v1);
        testutil::write_file(dir / "v2", v2);
        REQUIRE(generate_keypair(dir / "k"));
        auto signing = SigningKey::load(dir / "k.key");
        REQUIRE(signing);
        PackOptions po;
        po.chunk_size = kChunk;
        po.level = 3;
        po.name = "dom0";
        po.version = "1";
        REQUIRE(pack_image(dir / "v1", dir / "img1", *signing, po));
        po.version = "2";
        REQUIRE(pack_image(dir / "v2", dir / "img2", *signing, po));
        auto k = VerifyKey::load(dir / "k.pub");
        REQUIRE(k);
        key = std::make_unique<VerifyKey>(*k);
        std::filesystem::create_directory(dir / "cache");
    }
    PackReceiveOptions options(const RunningServer& server, const std::string& dest) const {
        PackReceiveOptions o;
        o.server = server.address();
        o.dest = dir / "cache" / dest;
        o.timeout = std::chrono::seconds(5);
        return o;
    }
    std::size_t cache_entries() const {
        std::size_t n = 0;
        for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir / "cache")) ++n;
        return n;
    }
};

}  // namespace

TEST_CASE("a pack receive makes the image itself: its manifest and pack, every chunk verified") {
    PackFixture f;
    RunningServer server(f.dir / "img1");
    auto got = receive_pack(f.options(server, "a"), *f.key, nullptr);
    REQUIRE_MESSAGE(got, got.status().message());
    CHECK(got->chunks_stored == 8);
    CHECK(got->chunks_fetched == 8);
    CHECK(got->chunks_reused == 0);
    CHECK(got->manifest.version == "1");
    CHECK(file_text(f.dir / "cache/a/chunks.pack") == file_text(f.dir / "img1/chunks.pack"));
    auto copy = PackedImage::open(f.dir / "cache/a", *f.key);
    REQUIRE_MESSAGE(copy, copy.status().message());
    std::vector<std::uint8_t> raw(kChunk);
    for (std::size_t i = 0; i < copy->get()->manifest().chunks.size(); ++i)
        CHECK((*copy)->read_chunk(i, raw));
    CHECK(f.cache_entries() == 1);  // no temporary left beside it
}

TEST_CASE("an update by pack receive moves only the chunks that changed") {
    PackFixture f;
    {
        RunningServer v1(f.dir / "img1");
        REQUIRE(receive_pack(f.options(v1, "dom0@1"), *f.key, nullptr));
    }
    RunningServer v2(f.dir / "img2");
    auto o = f.options(v2, "dom0@2");
    o.bases = {f.dir / "cache/dom0@1", f.dir / "cache/missing"};  // a basis gone is skipped
    auto got = receive_pack(o, *f.key, nullptr);
    REQUIRE_MESSAGE(got, got.status().message());
    CHECK(got->chunks_fetched == 2);  // chunks 1 and 7
    CHECK(got->chunks_reused == 6);
    auto m2 = load_manifest(f.dir / "img2", *f.key);
    REQUIRE(m2);
    CHECK(got->bytes_fetched == m2->chunks[1].pack_size + m2->chunks[7].pack_size);
    CHECK(got->bytes_received < m2->stored_bytes() / 2);
    CHECK(file_text(f.dir / "cache/dom0@2/chunks.pack") == file_text(f.dir / "img2/chunks.pack"));
    CHECK(file_text(f.dir / "cache/dom0@2/manifest.json") == file_text(f.dir / "img2/manifest.json"));
    // The old version is untouched.
    CHECK(file_text(f.dir / "cache/dom0@1/chunks.pack") == file_text(f.dir / "img1/chunks.pack"));
}

TEST_CASE("a corrupted frame from the server is refused and leaves no image, whole or half") {
    PackFixture f;
    std::filesystem::copy(f.dir / "img1", f.dir / "bad", std::filesystem::copy_options::recursive);
    { RunningServer good(f.dir / "bad"); }  // leaves its block signatures beside the pack
    auto m = load_manifest(f.dir / "img1", *f.key);
    REQUIRE(m);
    {
        std::fstream pack(f.dir / "bad/chunks.pack", std::ios::in | std::ios::out | std::ios::binary);
        pack.seekp(std::streamoff(m->chunks[4].pack_offset + m->chunks[4].pack_size / 2));
        pack.put('\x5a');
    }
    RunningServer server(f.dir / "bad");  // the manifest still verifies: its signature is intact
    auto got = receive_pack(f.options(server, "a"), *f.key, nullptr);
    REQUIRE_FALSE(got);
    CHECK_MESSAGE(got.status().message().find("chunk 4") != std::string::npos, got.status().message());
    CHECK(f.cache_entries() == 0);
}

TEST_CASE("a pack receive refuses another image than its pin, and a destination that exists") {
    PackFixture f;
    RunningServer server(f.dir / "img1");
    auto o = f.options(server, "a");
    o.expect.name = "dom0";
    o.expect.version = "2";
    auto got = receive_pack(o, *f.key, nullptr);
    REQUIRE_FALSE(got);
    CHECK_MESSAGE(got.status().message().find("dom0@2") != std::string::npos, got.status().message());
    CHECK(f.cache_entries() == 0);
    std::filesystem::create_directory(f.dir / "cache/a");
    got = receive_pack(f.options(server, "a"), *f.key, nullptr);
    REQUIRE_FALSE(got);
    CHECK(got.status().message().find("exists already") != std::string::npos);
}

TEST_CASE("a pack receive cut off mid-way leaves nothing; a killed one's temporary is swept") {
    PackFixture f;
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    auto stream_on = [](int fd) {
        auto io = std::make_unique<boost::asio::io_context>();
        boost::asio::ip::tcp::socket socket(*io);
        socket.assign(boost::asio::ip::tcp::v4(), fd);
        return std::make_unique<FramedStream>(std::move(io), std::move(socket));
    };
    // A server that sends the manifest and one frame, then goes (its stream closes).
    std::thread server([&] {
        auto stream = stream_on(fds[1]);
        auto image = PackedImage::open(f.dir / "img1", *f.key);
        REQUIRE(image);
        const std::string manifest = file_text(f.dir / "img1/manifest.json");
        REQUIRE(stream->receive(std::chrono::seconds(5)));  // hello
        REQUIRE(stream->send(MsgType::kManifest,
                             {reinterpret_cast<const std::uint8_t*>(manifest.data()), manifest.size()},
                             std::chrono::seconds(5)));
        auto want = stream->receive(std::chrono::seconds(5));
        REQUIRE(want);
        auto items = decode_want(want->body);
        REQUIRE(items);
        REQUIRE(items->size() > 1);
        auto frame = (*image)->read_frame(items->front().chunk);
        REQUIRE(frame);
        ByteWriter w;
        w.u32(items->front().chunk);
        w.bytes(*frame);
        REQUIRE(stream->send(MsgType::kFrame, w.data(), std::chrono::seconds(5)));
    });
    PackReceiveOptions o;
    o.dest = f.dir / "cache/a";
    o.timeout = std::chrono::seconds(5);
    auto got = [&] {
        auto stream = stream_on(fds[0]);
        return receive_pack_over(*stream, *f.key, o, nullptr);
    }();
    server.join();
    REQUIRE_FALSE(got);
    CHECK(f.cache_entries() == 0);

    std::filesystem::create_directories(f.dir / "cache/.a.part-123-456");
    std::filesystem::create_directories(f.dir / "cache/kept");
    CHECK(remove_partial(f.dir / "cache") == 1);
    CHECK(f.cache_entries() == 1);
}

TEST_CASE("an identified pack receive proves its receipt from the pack it wrote") {
    PackFixture f;
    Secret secret = *random_secret();
    auto serve = RunningServer::options(f.dir / "img1", secret);
    serve.delivery_log = f.dir / "deliveries.log";
    RunningServer server(serve);
    auto o = f.options(server, "a");
    o.receiver_id = "peers";
    o.secret = receiver_key(secret, "peers");
    auto got = receive_pack(o, *f.key, nullptr);
    REQUIRE_MESSAGE(got, got.status().message());
    CHECK(got->delivery_confirmed);
    const std::string log = file_text(f.dir / "deliveries.log");
    CHECK(log.find("\"receiver\":\"peers\"") != std::string::npos);
    CHECK(log.find("\"chunks_sent\":8") != std::string::npos);
    o.dest = f.dir / "cache/b";
    o.secret = receiver_key(secret, "another");  // not the key of "peers"
    CHECK_FALSE(receive_pack(o, *f.key, nullptr));
}
