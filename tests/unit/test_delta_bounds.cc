// The delta server against a hostile client: requests and sessions are bounded, refusals are
// clear errors that end only the offending session.
#include <doctest/doctest.h>

#include <thread>

#include "framed_stream.h"
#include "imaging/pack.h"
#include "imaging/packed_image.h"
#include "imaging/signing.h"
#include "receiver.h"
#include "server.h"
#include "test_delta_server.h"
#include "test_pack.h"
#include "session.h"
#include "test_util.h"

using namespace imaging;
using namespace imaging::delta;
using deltatest::RunningServer;
using testutil::TempDir;

namespace {

using deltatest::kChunk;

struct BoundsFixture {
    TempDir dir;
    std::shared_ptr<PackedImage> image;

    BoundsFixture() {
        testutil::write_file(dir / "raw", testutil::sample_image(6, kChunk, 5));
        testutil::pack_signed(dir.path(), dir / "raw", kChunk);
        auto img = PackedImage::open_unverified(dir / "img");
        REQUIRE(img);
        image = *img;
    }
};


// A raw client past the hello: the server has sent its manifest.
std::unique_ptr<FramedStream> hello(const std::string& address) {
    auto stream = FramedStream::connect(address, std::chrono::seconds(5));
    REQUIRE_MESSAGE(stream, stream.status().message());
    ByteWriter w;
    w.text(std::string_view(kHelloMagic, 8));
    w.u32(kProtocolVersion);
    REQUIRE((*stream)->send(MsgType::kHello, w.data(), std::chrono::seconds(5)));
    auto manifest = (*stream)->receive(std::chrono::seconds(5));
    REQUIRE_MESSAGE(manifest, manifest.status().message());
    CHECK(manifest->type == MsgType::kManifest);
    return std::move(*stream);
}


// What a receiver asks for one whole chunk, `times` times over, as ranges of one item.
std::vector<WantItem> whole_chunk_ranges(std::uint32_t chunk, std::uint32_t length, std::size_t times) {
    WantItem item{chunk, false, {}};
    item.ranges.assign(times, {0, length});
    return {item};
}

}  // namespace

TEST_SUITE("delta bounds") {

TEST_CASE("a want is checked against the image: ranges, bytes per chunk, chunks named once") {
    BoundsFixture f;
    const Manifest& m = f.image->manifest();
    CHECK(check_want({{1, true, {}}, {2, false, {{0, 4096}, {8192, 100}}}}, m));
    // The request: 10,000 full-chunk ranges (10 GiB of 1 MiB chunks) in one small message.
    auto greedy = check_want(whole_chunk_ranges(1, kChunk, 10000), m);
    REQUIRE_FALSE(greedy);
    CHECK(deltatest::message_mentions(greedy, "asks for"));
    CHECK_FALSE(check_want(whole_chunk_ranges(1, kChunk, 2), m));
    CHECK(check_want(whole_chunk_ranges(1, kChunk, 1), m));
    WantItem many{1, false, {}};
    many.ranges.assign(kMaxRangesPerItem + 1, {0, 0});
    CHECK(deltatest::message_mentions(check_want({many}, m), "ranges (limit"));
    CHECK(deltatest::message_mentions(check_want({{1, true, {}}, {1, true, {}}}, m), "twice"));
    CHECK(deltatest::message_mentions(check_want({{99, true, {}}}, m), "out of range"));
    CHECK_FALSE(check_want({{1, false, {{kChunk - 10, 11}}}}, m));
    std::vector<WantItem> too_many(m.chunks.size() + 1, WantItem{0, true, {}});
    CHECK(deltatest::message_mentions(check_want(too_many, m), "the image has"));
}

TEST_CASE("a session's budget: about twice the image, then refused") {
    SessionBudget budget(10);  // 2 * 10 + 16 chunks, 2 * 10 + 64 requests
    CHECK(budget.signatures(36));
    CHECK_FALSE(budget.signatures(1));
    CHECK(budget.answers(30));
    CHECK(budget.answers(6));
    CHECK(deltatest::message_mentions(budget.answers(1), "limit 36"));
    for (int k = 0; k < 84; ++k) REQUIRE(budget.request());
    CHECK(deltatest::message_mentions(budget.request(), "too many requests"));
}

TEST_CASE("a greedy want is refused with an error and closed; a receiver beside it completes") {
    BoundsFixture f;
    ServeOptions opt;
    opt.image_dir = f.dir / "img";
    RunningServer server(opt);
    auto hostile = hello(server.address());

    ReceiveOptions ro;
    ro.server = server.address();
    ro.pubkey = f.dir / "k.pub";
    ro.output = f.dir / "out";
    auto honest = receive(ro, nullptr);
    REQUIRE_MESSAGE(honest, honest.status().message());

    REQUIRE(hostile->send(MsgType::kWant, encode_want(whole_chunk_ranges(1, kChunk, 10000)), std::chrono::seconds(5)));
    auto answer = hostile->receive(std::chrono::seconds(5));
    REQUIRE_FALSE(answer);
    CHECK(deltatest::message_mentions(answer.status(), "reported: want for chunk 1 asks for"));
    auto after = hostile->receive(std::chrono::seconds(5));
    REQUIRE_FALSE(after);
    CHECK(deltatest::message_mentions(after.status(), "lost"));
}

TEST_CASE("a signature request for too many chunks is refused") {
    BoundsFixture f;
    ServeOptions opt;
    opt.image_dir = f.dir / "img";
    RunningServer server(opt);
    auto client = hello(server.address());
    ByteWriter w;
    w.u32(kMaxSignatureChunksPerRequest + 1);
    for (std::uint32_t k = 0; k <= kMaxSignatureChunksPerRequest; ++k) w.u32(0);
    REQUIRE(client->send(MsgType::kSigRequest, w.data(), std::chrono::seconds(5)));
    auto answer = client->receive(std::chrono::seconds(5));
    REQUIRE_FALSE(answer);
    CHECK(deltatest::message_mentions(answer.status(), "limit 4096"));
}

TEST_CASE("a hello header that promises more than a hello is refused before its body; one within then silence times out") {
    BoundsFixture f;
    ServeOptions opt;
    opt.image_dir = f.dir / "img";
    opt.handshake_timeout = std::chrono::seconds(1);
    RunningServer server(opt);
    namespace asio = boost::asio;
    auto raw_header = [&](std::uint32_t promised) {
        asio::io_context io;
        asio::ip::tcp::socket s(io);
        s.connect({asio::ip::make_address("127.0.0.1"), server.server->port()});
        std::uint8_t header[5];
        std::memcpy(header, &promised, 4);
        header[4] = std::uint8_t(MsgType::kHello);
        asio::write(s, asio::buffer(header));
        // Whatever the server says before it closes.
        std::vector<std::uint8_t> got;
        boost::system::error_code ec;
        auto started = std::chrono::steady_clock::now();
        asio::read(s, asio::dynamic_buffer(got), ec);
        return std::pair{std::string(got.begin() + std::min<std::size_t>(5, got.size()), got.end()),
                         std::chrono::steady_clock::now() - started};
    };
    // A hello is 44 bytes, 109 with a receiver id: 256 MiB, or even 8 MiB (within the 16 MiB of
    // a later request), is refused at once.
    for (std::uint32_t promised : {256u << 20, 8u << 20}) {
        auto [refused, refused_after] = raw_header(promised);
        CHECK(refused.find("-byte message (limit 128)") != std::string::npos);
        CHECK(refused_after < std::chrono::milliseconds(900));
    }
    auto [silent, silent_after] = raw_header(44);
    CHECK(silent_after >= std::chrono::milliseconds(900));
    CHECK(silent_after < std::chrono::seconds(5));
}

TEST_CASE("a silent receiver is dropped after the idle timeout") {
    BoundsFixture f;
    ServeOptions opt;
    opt.image_dir = f.dir / "img";
    opt.idle_timeout = std::chrono::seconds(1);
    RunningServer server(opt);
    auto client = hello(server.address());
    auto started = std::chrono::steady_clock::now();
    auto next = client->receive(std::chrono::seconds(5));
    REQUIRE_FALSE(next);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(4));
}

TEST_CASE("a connection that never says hello holds its slot for the handshake timeout only") {
    BoundsFixture f;
    ServeOptions opt;
    opt.image_dir = f.dir / "img";
    opt.handshake_timeout = std::chrono::seconds(1);  // idle_timeout stays at 120 s
    RunningServer server(opt);
    auto silent = FramedStream::connect(server.address(), std::chrono::seconds(5));
    REQUIRE(silent);
    auto started = std::chrono::steady_clock::now();
    auto answer = (*silent)->receive(std::chrono::seconds(5));
    REQUIRE_FALSE(answer);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(4));
}

TEST_CASE("sessions per peer address are capped; the one over is told why, a freed slot is reused") {
    BoundsFixture f;
    ServeOptions opt;
    opt.image_dir = f.dir / "img";
    opt.max_sessions_per_peer = 2;
    RunningServer server(opt);
    auto a = hello(server.address());
    auto b = hello(server.address());
    auto c = FramedStream::connect(server.address(), std::chrono::seconds(5));
    REQUIRE(c);
    auto refused = (*c)->receive(std::chrono::seconds(5));
    REQUIRE_FALSE(refused);
    CHECK(deltatest::message_mentions(refused.status(), "too many sessions from 127.0.0.1 (limit 2)"));

    REQUIRE(a->send(MsgType::kDone, {}, std::chrono::seconds(5)));
    a.reset();
    bool admitted = false;
    for (int attempt = 0; attempt < 50 && !admitted; ++attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        auto d = FramedStream::connect(server.address(), std::chrono::seconds(5));
        REQUIRE(d);
        ByteWriter w;
        w.text(std::string_view(kHelloMagic, 8));
        w.u32(kProtocolVersion);
        REQUIRE((*d)->send(MsgType::kHello, w.data(), std::chrono::seconds(5)));
        admitted = bool((*d)->receive(std::chrono::seconds(5)));
    }
    CHECK(admitted);
}

TEST_CASE("the server binds only the address it is given") {
    BoundsFixture f;
    ServeOptions opt;
    opt.image_dir = f.dir / "img";
    RunningServer server(opt);  // 127.0.0.1
    CHECK(server.server->port() != 0);
    opt.listen = "192.0.2.1:0";  // TEST-NET: not an address of this machine
    auto elsewhere = DeltaServer::start(opt);
    REQUIRE_FALSE(elsewhere);
    CHECK(deltatest::message_mentions(elsewhere.status(), "cannot listen on 192.0.2.1:0"));
}

}  // TEST_SUITE
