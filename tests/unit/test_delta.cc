#include <doctest/doctest.h>
#include <sys/socket.h>

#include <thread>

#include "basis.h"
#include "framed_stream.h"
#include "imaging/pack.h"
#include "imaging/packed_image.h"
#include "imaging/signing.h"
#include "plan.h"
#include "receiver.h"
#include "receiver_stream.h"
#include "server.h"
#include "session.h"
#include "test_delta_server.h"
#include "test_pack.h"
#include "test_util.h"

using namespace imaging;
using namespace imaging::delta;
using testutil::TempDir;

using deltatest::RunningServer;

namespace {

using deltatest::kChunk;

struct DeltaFixture {
    TempDir dir;
    std::vector<std::uint8_t> v1, v2;
    std::shared_ptr<PackedImage> image;

    DeltaFixture() {
        v1 = testutil::sample_image(12, kChunk, 10);
        v2 = v1;
        // Chunk 1: a few changed bytes. Chunk 4: data from chunk 0 moved to an odd offset.
        for (std::size_t k = 0; k < 300; ++k) v2[kChunk + 7000 + k] ^= 0xff;
        std::copy(v1.begin() + 777, v1.begin() + 777 + 20000, v2.begin() + 4 * kChunk + 3333);
        // Chunk 7: brand new random data.
        auto fresh = testutil::random_bytes(kChunk, 99);
        std::copy(fresh.begin(), fresh.end(), v2.begin() + 7 * kChunk);
        testutil::write_file(dir / "v1", v1);
        testutil::write_file(dir / "v2", v2);
        testutil::pack_signed(dir.path(), dir / "v2", kChunk);
        auto img = PackedImage::open_unverified(dir / "img");
        REQUIRE(img);
        image = *img;
    }

    SignatureFetcher local_fetcher() {
        return [this](const std::vector<std::uint32_t>& chunks) -> Result<std::vector<std::vector<BlockSum>>> {
            std::vector<std::vector<BlockSum>> out;
            for (auto c : chunks) {
                const auto& m = image->manifest();
                out.push_back(chunk_block_sums({v2.data() + m.chunk_offset(c), m.chunk_length(c)}));
            }
            return out;
        };
    }
};


}  // namespace

TEST_CASE("the plan keeps equal chunks, finds moved data at an odd offset, fetches the new") {
    DeltaFixture f;
    auto basis = Basis::open(f.dir / "v1");
    REQUIRE(basis);
    auto plan = make_plan(f.image->manifest(), {basis->get()}, -1, f.local_fetcher());
    REQUIRE_MESSAGE(plan, plan.status().message());
    finish_plan(f.image->manifest(), *plan);
    const auto& chunks = plan->chunks;
    CHECK(chunks[0].action == ChunkAction::kCopyChunk);
    CHECK(chunks[2].action == ChunkAction::kKeep);  // zero chunk, fresh output reads as zeros
    CHECK(chunks[3].action == ChunkAction::kCopyChunk);

    REQUIRE(chunks[1].action == ChunkAction::kBuild);
    CHECK_FALSE(chunks[1].fetch_whole);
    CHECK(chunks[1].fetch_bytes() == 4096);  // 300 bytes at 7000 lie in one 4 KiB block

    REQUIRE(chunks[4].action == ChunkAction::kBuild);
    // The moved 20000 bytes start at 3333 in chunk 4: the blocks wholly inside come from
    // offset 777 + (block start - 3333) of v1, an odd offset.
    const auto& b1 = chunks[4].blocks[1];
    CHECK(b1.kind == BlockSource::kLocal);
    CHECK(b1.offset == 777 + 4096 - 3333);
    CHECK(chunks[7].fetch_whole);
}

TEST_CASE("a blank output (a new host's disk) asks for no signatures and scans nothing") {
    DeltaFixture f;
    testutil::write_file(f.dir / "blank", std::vector<std::uint8_t>(f.v2.size(), 0));
    auto blank = Basis::open(f.dir / "blank");
    REQUIRE(blank);
    int asked = 0;
    SignatureFetcher counting = [&](const std::vector<std::uint32_t>& chunks) {
        ++asked;
        return f.local_fetcher()(chunks);
    };
    auto plan = make_plan(f.image->manifest(), {blank->get()}, 0, counting);
    REQUIRE_MESSAGE(plan, plan.status().message());
    CHECK(asked == 0);
    for (const auto& cp : plan->chunks) {
        if (cp.action == ChunkAction::kBuild) CHECK(cp.fetch_whole);
    }

    // One byte of data anywhere and the usual search runs.
    auto with_data = std::vector<std::uint8_t>(f.v2.size(), 0);
    with_data[5 * kChunk + 100] = 1;
    testutil::write_file(f.dir / "not-blank", with_data);
    auto not_blank = Basis::open(f.dir / "not-blank");
    REQUIRE(not_blank);
    auto searched = make_plan(f.image->manifest(), {not_blank->get()}, 0, counting);
    REQUIRE(searched);
    CHECK(asked > 0);
}

TEST_CASE("receive over TCP: fresh, from a basis, in place, and again with nothing to do") {
    DeltaFixture f;
    RunningServer server(f.dir / "img");
    ReceiveOptions opt;
    opt.server = server.address();
    opt.pubkey = f.dir / "k.pub";

    opt.output = f.dir / "fresh";
    auto fresh = receive(opt, nullptr);
    REQUIRE_MESSAGE(fresh, fresh.status().message());
    CHECK(testutil::read_file(f.dir / "fresh") == f.v2);
    CHECK(fresh->bytes_reused == 0);

    opt.output = f.dir / "from-basis";
    opt.basis = f.dir / "v1";
    auto based = receive(opt, nullptr);
    REQUIRE_MESSAGE(based, based.status().message());
    CHECK(testutil::read_file(f.dir / "from-basis") == f.v2);
    CHECK(based->bytes_reused > 0);
    CHECK(based->bytes_received < fresh->bytes_received);

    std::filesystem::copy_file(f.dir / "v1", f.dir / "inplace");
    opt.output = f.dir / "inplace";
    opt.basis.reset();
    auto inplace = receive(opt, nullptr);
    REQUIRE_MESSAGE(inplace, inplace.status().message());
    CHECK(testutil::read_file(f.dir / "inplace") == f.v2);
    CHECK(inplace->bytes_written < f.v2.size() / 2);

    auto again = receive(opt, nullptr);
    REQUIRE(again);
    CHECK(again->bytes_written == 0);
    CHECK(again->chunks_fetched == 0);
}

TEST_CASE("receive_over: a server session on the other end of a socketpair, no network") {
    DeltaFixture f;
    auto signature = ImageSignature::load_or_compute(*f.image);
    REQUIRE(signature);
    auto key = VerifyKey::load(f.dir / "k.pub");
    REQUIRE(key);
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    auto stream_on = [](int fd) {
        auto io = std::make_unique<boost::asio::io_context>();
        boost::asio::ip::tcp::socket socket(*io);
        socket.assign(boost::asio::ip::tcp::v4(), fd);
        return std::make_unique<FramedStream>(std::move(io), std::move(socket));
    };
    ServeOptions serve;
    Status served;
    std::thread server([&] {
        ServerSession session(stream_on(fds[1]), *f.image, *signature, serve);
        served = session.run();
    });
    ReceiveOptions opt;
    opt.server = "not used";
    opt.output = f.dir / "out";
    opt.basis = f.dir / "v1";
    auto received = [&] {
        auto stream = stream_on(fds[0]);
        return receive_over(*stream, *key, opt, nullptr);
    }();
    server.join();
    REQUIRE_MESSAGE(received, received.status().message());
    CHECK_MESSAGE(served, served.message());
    CHECK(testutil::read_file(f.dir / "out") == f.v2);
    CHECK(received->bytes_reused > 0);
}

TEST_CASE("in-place update keeps old blocks that a changed chunk overwrites") {
    // v2 swaps two chunks' contents: each chunk's new bytes are the other's old bytes, so
    // writing either first would destroy what the other needs unless it was copied aside.
    DeltaFixture f;
    std::vector<std::uint8_t> swapped = f.v1;
    std::swap_ranges(swapped.begin(), swapped.begin() + kChunk, swapped.begin() + 3 * kChunk);
    testutil::write_file(f.dir / "v3", swapped);
    auto key = SigningKey::load(f.dir / "k.key");
    PackOptions opt;
    opt.chunk_size = kChunk;
    REQUIRE(pack_image(f.dir / "v3", f.dir / "img3", *key, opt));
    RunningServer server(f.dir / "img3");
    std::filesystem::copy_file(f.dir / "v1", f.dir / "target");
    ReceiveOptions ro;
    ro.server = server.address();
    ro.pubkey = f.dir / "k.pub";
    ro.output = f.dir / "target";
    auto r = receive(ro, nullptr);
    REQUIRE_MESSAGE(r, r.status().message());
    CHECK(testutil::read_file(f.dir / "target") == swapped);
    CHECK(r->chunks_fetched == 0);  // everything came from the old data
}

TEST_CASE("a receiver with the wrong public key refuses the image and writes nothing") {
    DeltaFixture f;
    RunningServer server(f.dir / "img");
    REQUIRE(generate_keypair(f.dir / "other"));
    ReceiveOptions opt;
    opt.server = server.address();
    opt.pubkey = f.dir / "other.pub";
    opt.output = f.dir / "out";
    auto r = receive(opt, nullptr);
    REQUIRE_FALSE(r);
    CHECK(r.status().message().find("signature does not verify") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(f.dir / "out"));
}

TEST_CASE("a receiver pinned to another image refuses a validly signed one and writes nothing") {
    DeltaFixture f;
    RunningServer server(f.dir / "img");  // serves v2, signed with the site key
    ReceiveOptions opt;
    opt.server = server.address();
    opt.pubkey = f.dir / "k.pub";
    opt.output = f.dir / "out";
    opt.expect.image_sha256 = to_hex(sha256(f.v1));
    auto r = receive(opt, nullptr);
    REQUIRE_FALSE(r);
    CHECK(r.status().message().find("not the expected") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(f.dir / "out"));

    opt.expect.image_sha256 = to_hex(sha256(f.v2));
    auto pinned = receive(opt, nullptr);
    REQUIRE_MESSAGE(pinned, pinned.status().message());
    CHECK(testutil::read_file(f.dir / "out") == f.v2);
}

TEST_CASE("a server that goes away mid-transfer is a clear error") {
    DeltaFixture f;
    // A fake server: answers the hello with the real manifest, then hangs up on the first request.
    namespace asio = boost::asio;
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    std::thread fake([&] {
        auto own = std::make_unique<asio::io_context>();
        asio::ip::tcp::socket s(*own);
        acceptor.accept(s);
        s.non_blocking(false);
        FramedStream stream(std::move(own), std::move(s));
        (void)stream.receive(std::chrono::seconds(5));
        std::string m = f.image->manifest().to_json();
        (void)stream.send(MsgType::kManifest, {reinterpret_cast<const std::uint8_t*>(m.data()), m.size()},
                          std::chrono::seconds(5));
        (void)stream.receive(std::chrono::seconds(5));
    });
    ReceiveOptions opt;
    opt.server = "127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
    opt.pubkey = f.dir / "k.pub";
    opt.output = f.dir / "out";
    auto r = receive(opt, nullptr);
    fake.join();
    REQUIRE_FALSE(r);
    CHECK(r.status().message().find("lost") != std::string::npos);
}

TEST_CASE("connecting to a port nobody listens on is a clear error") {
    TempDir d;
    REQUIRE(generate_keypair(d / "k"));
    ReceiveOptions opt;
    opt.server = "127.0.0.1:1";
    opt.pubkey = d / "k.pub";
    opt.output = d / "out";
    auto r = receive(opt, nullptr);
    REQUIRE_FALSE(r);
    CHECK(r.status().message().find("cannot connect to 127.0.0.1:1") != std::string::npos);
}

TEST_CASE("want messages round-trip and malformed ones are refused") {
    std::vector<WantItem> items{{3, true, {}}, {5, false, {{0, 4096}, {8192, 100}}}};
    auto body = encode_want(items);
    auto back = decode_want(body);
    REQUIRE(back);
    REQUIRE(back->size() == 2);
    CHECK((*back)[1].ranges[1] == std::pair<std::uint32_t, std::uint32_t>{8192, 100});
    body.pop_back();
    CHECK_FALSE(decode_want(body));
    std::vector<std::uint8_t> huge{0xff, 0xff, 0xff, 0xff};
    CHECK_FALSE(decode_want(huge));
}
