// Proof of receipt over delta (imaging/delivery.h, delta/PROTOCOL.md): an identified receiver
// holds receiver_key(server secret, id), and once the image is verified and synced its receipt
// makes the server append the delivery to its log and acknowledge. A receiver with another
// id's key is refused at the handshake; a receipt that does not verify is never recorded.
#include <doctest/doctest.h>

#include <fstream>

#include "framed_stream.h"
#include "handshake_auth.h"
#include "imaging/delivery.h"
#include "imaging/pack.h"
#include "imaging/secret.h"
#include "imaging/signing.h"
#include "receiver.h"
#include "server.h"
#include "test_delta_server.h"
#include "test_pack.h"
#include "test_util.h"

using namespace imaging;
using namespace imaging::delta;
using deltatest::RunningServer;
using testutil::TempDir;

namespace {

using deltatest::kChunk;

struct ReceiptFixture {
    TempDir dir;
    Secret secret = *random_secret();

    ReceiptFixture() {
        testutil::write_file(dir / "raw", testutil::sample_image(4, kChunk, 5));
        testutil::pack_signed(dir.path(), dir / "raw", kChunk);
    }
    ServeOptions serve() const {
        auto opt = RunningServer::options(dir / "img", secret);
        opt.delivery_log = dir / "deliveries.log";
        return opt;
    }
    ReceiveOptions receive_as(const std::string& server, const std::string& id, const Secret& key) const {
        ReceiveOptions ro;
        ro.server = server;
        ro.pubkey = dir / "k.pub";
        ro.output = dir / "out";
        ro.timeout = std::chrono::seconds(5);
        ro.secret = key;
        ro.receiver_id = id;
        return ro;
    }
    std::vector<std::string> log_lines() const {
        std::vector<std::string> lines;
        std::ifstream in(dir / "deliveries.log");
        for (std::string line; std::getline(in, line);) lines.push_back(line);
        return lines;
    }
};


}  // namespace

TEST_CASE("receiver ids and keys: the allowed characters, one key per id") {
    CHECK(valid_receiver_id("12/3"));
    CHECK(valid_receiver_id(std::string(64, 'a')));
    CHECK_FALSE(valid_receiver_id(""));
    CHECK_FALSE(valid_receiver_id(std::string(65, 'a')));
    CHECK_FALSE(valid_receiver_id("a b"));
    CHECK_FALSE(valid_receiver_id("a\n"));
    Secret master = *random_secret();
    CHECK(receiver_key(master, "1/2") == receiver_key(master, "1/2"));
    CHECK(receiver_key(master, "1/2") != receiver_key(master, "1/3"));
    CHECK(receiver_key(master, "1/2") != receiver_key(*random_secret(), "1/2"));
    CHECK(receiver_key(master, "1/2") != master);
}

TEST_CASE("delivery lines: round trip, and lines that are not deliveries") {
    Delivery d{"7/3", "delta", std::string(64, 'a'), "10.0.0.5:4242", 3, 4, 1234};
    auto back = decode_delivery(encode_delivery(d));
    REQUIRE_MESSAGE(back, back.status().message());
    CHECK(back->receiver == "7/3");
    CHECK(back->peer == "10.0.0.5:4242");
    CHECK(back->chunks_sent == 3);
    CHECK(back->bytes_sent == 1234);
    CHECK_FALSE(decode_delivery("not json"));
    CHECK_FALSE(decode_delivery(R"({"receiver":"a b","transport":"delta","image_sha256":"x"})"));
    CHECK_FALSE(decode_delivery(R"({"receiver":"1/2","transport":"delta"})"));
    CHECK_FALSE(decode_delivery(R"({"receiver":"1/2","transport":"delta","image_sha256":"x","bytes_sent":-1})"));
    CHECK_FALSE(decode_delivery(R"({"receiver":[[[[1]]]]})"));
}

TEST_CASE("an identified receiver's receipt is recorded by the server and acknowledged") {
    ReceiptFixture f;
    RunningServer server(f.serve());
    auto r = receive(f.receive_as(server.address(), "9/4", receiver_key(f.secret, "9/4")), nullptr);
    REQUIRE_MESSAGE(r, r.status().message());
    CHECK(r->delivery_confirmed);
    CHECK(testutil::read_file(f.dir / "out") == testutil::read_file(f.dir / "raw"));
    auto lines = f.log_lines();
    REQUIRE(lines.size() == 1);
    auto d = decode_delivery(lines[0]);
    REQUIRE(d);
    CHECK(d->receiver == "9/4");
    CHECK(d->transport == "delta");
    CHECK(d->image_sha256 == to_hex(r->sha256));
    CHECK(d->peer.starts_with("127.0.0.1:"));
    CHECK(d->chunks_total == 4);
    CHECK(d->chunks_sent > 0);
    CHECK(d->bytes_sent > 0);
    CHECK((std::filesystem::status(f.dir / "deliveries.log").permissions() &
           (std::filesystem::perms::group_all | std::filesystem::perms::others_all)) ==
          std::filesystem::perms::none);

    // Again, the output already holding the image: nothing fetched, the receipt all the same.
    auto again = receive(f.receive_as(server.address(), "10/4", receiver_key(f.secret, "10/4")), nullptr);
    REQUIRE_MESSAGE(again, again.status().message());
    CHECK(again->delivery_confirmed);
    REQUIRE(f.log_lines().size() == 2);
    CHECK(decode_delivery(f.log_lines()[1])->chunks_sent == 0);  // the log says what was sent
}

TEST_CASE("another id's key, or the server's own secret under an id, is refused at the handshake") {
    ReceiptFixture f;
    RunningServer server(f.serve());
    SUBCASE("host 5's key claiming to be host 4") {
        auto r = receive(f.receive_as(server.address(), "9/4", receiver_key(f.secret, "9/5")), nullptr);
        REQUIRE_FALSE(r);
        CHECK(deltatest::message_mentions(r.status(), "failed authentication"));
    }
    SUBCASE("a key derived from another secret") {
        auto r = receive(f.receive_as(server.address(), "9/4", receiver_key(*random_secret(), "9/4")), nullptr);
        REQUIRE_FALSE(r);
        CHECK(deltatest::message_mentions(r.status(), "failed authentication"));
    }
    CHECK(f.log_lines().empty());
    CHECK_FALSE(std::filesystem::exists(f.dir / "out"));
}

TEST_CASE("a receipt that does not verify, or from an anonymous session, is refused and not recorded") {
    ReceiptFixture f;
    RunningServer server(f.serve());
    auto stream = FramedStream::connect(server.address(), std::chrono::seconds(5));
    REQUIRE(stream);
    const std::string id = "9/4";
    const Secret key = receiver_key(f.secret, id);
    ByteWriter hello;
    hello.text(std::string_view(kHelloMagic, 8));
    hello.u32(kProtocolVersion);
    Nonce client = random_nonce();
    hello.bytes(client);
    // The holder of 9/4's job: its key and the image's sha256, but none of the image.
    auto identified = [&](Nonce& server_nonce) -> Manifest {
        hello.u8(std::uint8_t(id.size()));
        hello.text(id);
        REQUIRE((*stream)->send(MsgType::kHello, hello.data(), std::chrono::seconds(5)));
        auto challenge = (*stream)->receive(std::chrono::seconds(5));
        REQUIRE(challenge);
        std::copy_n(challenge->body.begin(), kNonceSize, server_nonce.begin());
        REQUIRE((*stream)->send(MsgType::kAuth, client_proof(key, client, server_nonce), std::chrono::seconds(5)));
        auto manifest = (*stream)->receive(std::chrono::seconds(5));
        REQUIRE(manifest);
        auto m = Manifest::parse({reinterpret_cast<const char*>(manifest->body.data()), manifest->body.size()});
        REQUIRE(m);
        return *m;
    };
    SUBCASE("identified, with a proof over the wrong nonces") {
        Nonce server_nonce{};
        Manifest m = identified(server_nonce);
        ByteWriter receipt;
        receipt.bytes(m.image_sha256);
        receipt.bytes(receipt_proof(key, random_nonce(), server_nonce, m.image_sha256));
        REQUIRE((*stream)->send(MsgType::kReceipt, receipt.data(), std::chrono::seconds(5)));
        auto answer = (*stream)->receive(std::chrono::seconds(5));
        REQUIRE_FALSE(answer);
        CHECK(deltatest::message_mentions(answer.status(), "does not verify"));
    }
    SUBCASE("identified, a good proof, without the image: the possession check fails") {
        Nonce server_nonce{};
        Manifest m = identified(server_nonce);
        ByteWriter receipt;
        receipt.bytes(m.image_sha256);
        receipt.bytes(receipt_proof(key, client, server_nonce, m.image_sha256));
        REQUIRE((*stream)->send(MsgType::kReceipt, receipt.data(), std::chrono::seconds(5)));
        auto challenge = (*stream)->receive(std::chrono::seconds(5));
        REQUIRE(challenge);
        REQUIRE(challenge->type == MsgType::kPossessionChallenge);
        ByteReader r(challenge->body);
        Nonce nonce{};
        for (auto& b : nonce) b = r.u8();
        const std::uint32_t n = r.u32();
        const auto nonzero = std::count_if(m.chunks.begin(), m.chunks.end(),
                                           [](const ChunkEntry& c) { return !c.is_zero(); });
        CHECK(n == std::min<std::uint32_t>(kPossessionSamples, std::uint32_t(nonzero)));
        CHECK(n > 0);
        ByteWriter guess;  // what it can say without the chunks: their hashes are in the manifest
        for (std::uint32_t k = 0; k < n; ++k) {
            const std::uint32_t chunk = r.u32();
            guess.bytes(possession_digest(nonce, chunk, m.chunks[chunk].sha256));
        }
        REQUIRE((*stream)->send(MsgType::kPossession, guess.data(), std::chrono::seconds(5)));
        auto answer = (*stream)->receive(std::chrono::seconds(5));
        REQUIRE_FALSE(answer);
        CHECK(deltatest::message_mentions(answer.status(), "does not hold chunk"));
    }
    SUBCASE("anonymous, with the server's secret") {
        REQUIRE((*stream)->send(MsgType::kHello, hello.data(), std::chrono::seconds(5)));
        auto challenge = (*stream)->receive(std::chrono::seconds(5));
        REQUIRE(challenge);
        Nonce server_nonce{};
        std::copy_n(challenge->body.begin(), kNonceSize, server_nonce.begin());
        REQUIRE((*stream)->send(MsgType::kAuth, client_proof(f.secret, client, server_nonce),
                                std::chrono::seconds(5)));
        REQUIRE((*stream)->receive(std::chrono::seconds(5)));  // the manifest
        ByteWriter receipt;
        receipt.bytes(Digest{});
        receipt.bytes(Mac{});
        REQUIRE((*stream)->send(MsgType::kReceipt, receipt.data(), std::chrono::seconds(5)));
        auto answer = (*stream)->receive(std::chrono::seconds(5));
        REQUIRE_FALSE(answer);
        CHECK(deltatest::message_mentions(answer.status(), "identified"));
    }
    CHECK(f.log_lines().empty());
}
