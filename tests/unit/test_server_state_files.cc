// Secrets at rest (state.h, state_files.h): the state directory is the owner's alone, every
// secret 0600 from its first byte, and a crash between the two halves of the signing key
// leaves a server that starts.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "imaging/signing.h"
#include "state.h"
#include "state_files.h"
#include "test_util.h"

namespace {

using namespace provisioner;
using namespace provisioner::server;
namespace fs = std::filesystem;

// Runs with a permissive umask, as a careless service manager might start the server.
struct Umask {
    explicit Umask(mode_t m) : old(::umask(m)) {}
    ~Umask() { ::umask(old); }
    mode_t old;
};

// The private key signs what the public key verifies.
void check_pair(const StateFiles& files) {
    auto sign = imaging::SigningKey::load(files.signing_key());
    REQUIRE(sign.is_ok());
    auto verify = imaging::VerifyKey::load(files.public_key());
    REQUIRE(verify.is_ok());
    auto signature = sign->sign("manifest");
    REQUIRE(signature.is_ok());
    CHECK(verify->verify("manifest", *signature));
}

TEST_CASE("state files: init makes the directory 0700 and every secret 0600") {
    Umask loose(0);
    testutil::TempDir top;
    StateFiles files{top / "state"};
    fs::create_directories(files.root);
    auto store = open_sqlite_store(files.inventory());
    REQUIRE(store.is_ok());
    auto init = initialise_state(files, **store);
    REQUIRE_MESSAGE(init.is_ok(), init.status().message());
    CHECK(init->created_key);
    CHECK(init->created_token);
    CHECK(testutil::file_mode(files.root) == 0700);
    CHECK(testutil::file_mode(files.import_dir()) == 0700);
    CHECK(testutil::file_mode(files.signing_key()) == 0600);
    CHECK(testutil::file_mode(files.public_key()) == 0644);
    CHECK(testutil::file_mode(files.operator_token()) == 0600);
    // The inventory holds the host-token secret: it and its WAL files are 0600.
    CHECK(testutil::file_mode(files.inventory()) == 0600);
    CHECK(testutil::file_mode(fs::path(files.inventory().string() + "-wal")) == 0600);
    CHECK(testutil::file_mode(fs::path(files.inventory().string() + "-shm")) == 0600);
    check_pair(files);
    // Nothing left half-written beside them.
    for (const auto& e : fs::directory_iterator(files.root))
        CHECK_MESSAGE(!e.path().filename().string().starts_with("."), e.path().string());
}

TEST_CASE("state files: an older state directory is tightened") {
    testutil::TempDir top;
    StateFiles files{top / "state"};
    fs::create_directories(files.root);
    {
        auto store = open_sqlite_store(files.inventory());
        REQUIRE(store.is_ok());
        REQUIRE(initialise_state(files, **store).is_ok());
    }
    for (const fs::path& p : {files.inventory(), files.signing_key(), files.operator_token()})
        fs::permissions(p, fs::perms(0644));
    fs::permissions(files.root, fs::perms(0755));
    auto store = open_sqlite_store(files.inventory());
    REQUIRE(store.is_ok());
    auto again = initialise_state(files, **store);
    REQUIRE(again.is_ok());
    CHECK_FALSE(again->created_key);
    CHECK_FALSE(again->created_token);
    CHECK(testutil::file_mode(files.root) == 0700);
    CHECK(testutil::file_mode(files.inventory()) == 0600);
    CHECK(testutil::file_mode(files.signing_key()) == 0600);
    CHECK(testutil::file_mode(files.operator_token()) == 0600);
}

TEST_CASE("state files: a missing or partial public key is derived again from the private key") {
    testutil::TempDir top;
    StateFiles files{top.path()};
    auto first = ensure_signing_key(files.signing_key(), files.public_key());
    REQUIRE(first.is_ok());
    CHECK(first->created);
    const std::string key = testutil::file_text(files.signing_key());
    const std::string pub = testutil::file_text(files.public_key());

    // A crash after the private half: no site.pub. The server still starts, same key.
    fs::remove(files.public_key());
    auto store = open_sqlite_store(":memory:");
    REQUIRE(store.is_ok());
    auto init = initialise_state(files, **store);
    REQUIRE_MESSAGE(init.is_ok(), init.status().message());
    CHECK_FALSE(init->created_key);
    CHECK(init->repaired_public_key);
    CHECK(testutil::file_text(files.signing_key()) == key);
    CHECK(testutil::file_text(files.public_key()) == pub);
    check_pair(files);

    // An older server's partial write: an empty site.pub.
    std::ofstream(files.public_key(), std::ios::trunc).flush();
    auto repaired = ensure_signing_key(files.signing_key(), files.public_key());
    REQUIRE(repaired.is_ok());
    CHECK(repaired->repaired);
    CHECK(testutil::file_text(files.public_key()) == pub);

    // A whole pair is left alone.
    auto kept = ensure_signing_key(files.signing_key(), files.public_key());
    REQUIRE(kept.is_ok());
    CHECK_FALSE(kept->created);
    CHECK_FALSE(kept->repaired);
}

TEST_CASE("state files: a private key that does not read is an error, never replaced") {
    testutil::TempDir top;
    StateFiles files{top.path()};
    std::ofstream(files.signing_key()) << "garbage";
    auto r = ensure_signing_key(files.signing_key(), files.public_key());
    CHECK_FALSE(r.is_ok());
    CHECK(r.status().message().find("not an Ed25519 private key") != std::string::npos);
    CHECK(testutil::file_text(files.signing_key()) == "garbage");
    CHECK_FALSE(fs::exists(files.public_key()));
}

}  // namespace

TEST_CASE("state files: the host-token secret is stored sealed under site.key, never in clear") {
    testutil::TempDir top;
    StateFiles a{top / "a"}, b{top / "b"}, other{top / "other"};
    for (const auto* f : {&a, &b, &other}) fs::create_directories(f->root);
    auto store = open_sqlite_store(":memory:");
    REQUIRE(store.is_ok());
    auto first = initialise_state(a, **store);
    REQUIRE_MESSAGE(first.is_ok(), first.status().message());
    REQUIRE(first->host_secret.size() == 64);
    auto sealed = (*store)->get_setting("host_token_secret_sealed");
    REQUIRE(sealed.is_ok());
    CHECK(sealed->find(first->host_secret) == std::string::npos);
    auto plain = (*store)->get_setting("host_token_secret");
    CHECK((!plain || plain->empty()));

    SUBCASE("a second server with the same site.key gets the same secret") {
        fs::copy_file(a.signing_key(), b.signing_key());
        auto second = initialise_state(b, **store);
        REQUIRE_MESSAGE(second.is_ok(), second.status().message());
        CHECK(second->host_secret == first->host_secret);
    }
    SUBCASE("a server with another site.key is refused, and says why") {
        auto third = initialise_state(other, **store);
        REQUIRE_FALSE(third.is_ok());
        CHECK(third.status().message().find("must share site.key") != std::string::npos);
        CHECK(*(*store)->get_setting("host_token_secret_sealed") == *sealed);
    }
}

TEST_CASE("state files: an older store's plain secret is sealed and blanked, tokens unchanged") {
    testutil::TempDir top;
    StateFiles files{top / "s"};
    fs::create_directories(files.root);
    auto store = open_sqlite_store(":memory:");
    REQUIRE(store.is_ok());
    const std::string old(64, 'a');
    REQUIRE((*store)->set_setting("host_token_secret", old));
    auto init = initialise_state(files, **store);
    REQUIRE_MESSAGE(init.is_ok(), init.status().message());
    CHECK(init->host_secret == old);
    CHECK(*(*store)->get_setting("host_token_secret") == "");
    // And again at the next start: opened from the sealed one.
    auto again = initialise_state(files, **store);
    REQUIRE(again.is_ok());
    CHECK(again->host_secret == old);
}
