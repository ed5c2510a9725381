// The delta handshake under a secret: the server and the receiver each prove they hold it
// before a manifest is sent or read; a rogue server, or a receiver without the secret, is
// refused. Without a secret on either side nothing changes.
#include <doctest/doctest.h>

#include <thread>

#include "framed_stream.h"
#include "handshake_auth.h"
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

struct AuthFixture {
    TempDir dir;
    Secret secret = *random_secret();
    Secret other = *random_secret();

    AuthFixture() {
        testutil::write_file(dir / "raw", testutil::sample_image(4, kChunk, 9));
        testutil::pack_signed(dir.path(), dir / "raw", kChunk);
    }
    ReceiveOptions receive_options(const std::string& server, std::optional<Secret> s) const {
        ReceiveOptions ro;
        ro.server = server;
        ro.pubkey = dir / "k.pub";
        ro.output = dir / "out";
        ro.timeout = std::chrono::seconds(5);
        ro.secret = s;
        return ro;
    }
};



}  // namespace

TEST_CASE("handshake proofs: distinct per side, per nonce and per secret") {
    Secret a = *random_secret(), b = *random_secret();
    Nonce cn = random_nonce(), sn = random_nonce();
    CHECK(server_proof(a, cn, sn) == server_proof(a, cn, sn));
    CHECK(server_proof(a, cn, sn) != client_proof(a, cn, sn));  // no reflection
    CHECK(server_proof(a, cn, sn) != server_proof(b, cn, sn));
    CHECK(server_proof(a, cn, sn) != server_proof(a, random_nonce(), sn));
    CHECK(client_proof(a, cn, sn) != client_proof(a, cn, random_nonce()));
}

TEST_CASE("secret files: hex, 0600 only, round trip") {
    TempDir dir;
    Secret s = *random_secret();
    REQUIRE(write_secret_file(dir / "secret", s));
    auto back = read_secret_file(dir / "secret");
    REQUIRE_MESSAGE(back, back.status().message());
    CHECK(*back == s);
    std::filesystem::permissions(dir / "secret", std::filesystem::perms::group_read, std::filesystem::perm_options::add);
    CHECK_FALSE(read_secret_file(dir / "secret"));
    CHECK_FALSE(secret_from_hex("abcd"));
    CHECK_FALSE(secret_from_hex(std::string(64, 'g')));
    CHECK(secret_from_hex(" " + secret_to_hex(s) + "\n"));
    // RFC 4231 test case 2.
    std::string key = "Jefe", data = "what do ya want for nothing?";
    Mac m = hmac_sha256({reinterpret_cast<const std::uint8_t*>(key.data()), key.size()},
                        {reinterpret_cast<const std::uint8_t*>(data.data()), data.size()});
    CHECK(to_hex(m) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("with the same secret on both sides the image is received") {
    AuthFixture f;
    RunningServer server(f.dir / "img", f.secret);
    auto r = receive(f.receive_options(server.address(), f.secret), nullptr);
    REQUIRE_MESSAGE(r, r.status().message());
    CHECK(testutil::read_file(f.dir / "out") == testutil::read_file(f.dir / "raw"));
}

TEST_CASE("a rogue server without the secret is refused before its manifest is read") {
    AuthFixture f;
    SUBCASE("a server with no secret") {
        RunningServer rogue(f.dir / "img", std::nullopt);
        auto r = receive(f.receive_options(rogue.address(), f.secret), nullptr);
        REQUIRE_FALSE(r);
        CHECK(deltatest::message_mentions(r.status(), "the server did not authenticate"));
    }
    SUBCASE("a server with another secret") {
        RunningServer rogue(f.dir / "img", f.other);
        auto r = receive(f.receive_options(rogue.address(), f.secret), nullptr);
        REQUIRE_FALSE(r);
        CHECK(deltatest::message_mentions(r.status(), "the server failed authentication"));
    }
    CHECK_FALSE(std::filesystem::exists(f.dir / "out"));  // nothing written, not even opened
}

TEST_CASE("a receiver without the secret is refused before any work; an honest one beside it completes") {
    AuthFixture f;
    RunningServer server(f.dir / "img", f.secret);
    SUBCASE("no secret") {
        auto r = receive(f.receive_options(server.address(), std::nullopt), nullptr);
        REQUIRE_FALSE(r);
        CHECK(deltatest::message_mentions(r.status(), "requires authentication"));
    }
    SUBCASE("another secret") {
        // It sees the server's proof fail first and goes: neither side did any work.
        auto r = receive(f.receive_options(server.address(), f.other), nullptr);
        REQUIRE_FALSE(r);
        CHECK(deltatest::message_mentions(r.status(), "failed authentication"));
    }
    SUBCASE("a raw client past the hello asks for signatures without proving anything") {
        auto stream = FramedStream::connect(server.address(), std::chrono::seconds(5));
        REQUIRE(stream);
        ByteWriter w;
        w.text(std::string_view(kHelloMagic, 8));
        w.u32(kProtocolVersion);
        Nonce n = random_nonce();
        w.bytes(n);
        REQUIRE((*stream)->send(MsgType::kHello, w.data(), std::chrono::seconds(5)));
        auto challenge = (*stream)->receive(std::chrono::seconds(5));
        REQUIRE(challenge);
        CHECK(challenge->type == MsgType::kChallenge);
        ByteWriter req;
        req.u32(1);
        req.u32(0);
        REQUIRE((*stream)->send(MsgType::kSigRequest, req.data(), std::chrono::seconds(5)));
        auto answer = (*stream)->receive(std::chrono::seconds(5));
        REQUIRE_FALSE(answer);
        CHECK(deltatest::message_mentions(answer.status(), "authentication failed"));
    }
    auto honest = receive(f.receive_options(server.address(), f.secret), nullptr);
    REQUIRE_MESSAGE(honest, honest.status().message());
}

TEST_CASE("without a secret on either side nothing changes") {
    AuthFixture f;
    RunningServer server(f.dir / "img", std::nullopt);
    auto r = receive(f.receive_options(server.address(), std::nullopt), nullptr);
    REQUIRE_MESSAGE(r, r.status().message());
}
