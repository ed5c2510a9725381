#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "base/atomic_file.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

fs::perms mode_of(const fs::path& p) {
    return fs::status(p).permissions() & fs::perms::mask;
}

// Only the file itself: no temporary left beside it.
std::size_t entries(const fs::path& dir) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
    return n;
}

struct Umask {
    explicit Umask(mode_t m) : old(::umask(m)) {}
    ~Umask() { ::umask(old); }
    mode_t old;
};

}  // namespace

TEST_CASE("base atomic file: writes, replaces, and leaves no temporary") {
    testutil::TempDir dir;
    const fs::path file = dir.path() / "site.xml";
    REQUIRE(base::write_file_atomically(file, "first\n"));
    CHECK(slurp(file) == "first\n");
    REQUIRE(base::write_file_atomically(file, std::string(100000, 'x')));
    CHECK(slurp(file) == std::string(100000, 'x'));
    REQUIRE(base::write_file_atomically(file, ""));
    CHECK(slurp(file).empty());
    CHECK(entries(dir.path()) == 1);

    REQUIRE(
        base::write_file_atomically(file, "advisory", fs::perms(0644), base::Durability::advisory));
    CHECK(slurp(file) == "advisory");
    CHECK(entries(dir.path()) == 1);
}

TEST_CASE("base atomic file: the mode is exact whatever the umask; private files are 0600") {
    testutil::TempDir dir;
    {
        Umask strict(077);
        REQUIRE(base::write_file_atomically(dir.path() / "dnsmasq.conf", "x", fs::perms(0644)));
        CHECK(mode_of(dir.path() / "dnsmasq.conf") == fs::perms(0644));
    }
    {
        Umask lax(0);
        // Replacing a file that was 0644 makes it 0600: the old mode does not survive.
        REQUIRE(base::write_private_file(dir.path() / "dnsmasq.conf", "secret"));
        CHECK(mode_of(dir.path() / "dnsmasq.conf") == fs::perms(0600));
        REQUIRE(base::write_private_file(dir.path() / "token", "t\n"));
        CHECK(mode_of(dir.path() / "token") == fs::perms(0600));
        CHECK(slurp(dir.path() / "token") == "t\n");
    }
}

TEST_CASE("base atomic file: a failure names the path and the step, and leaves nothing behind") {
    testutil::TempDir dir;
    base::Status missing = base::write_file_atomically(dir.path() / "no-such-dir" / "f", "x");
    CHECK_FALSE(missing);
    CHECK(missing.code() == base::Code::storage);
    CHECK(missing.message() == "writing " + (dir.path() / "no-such-dir" / "f").string() +
                                   ": creating its temporary file: No such file or directory");
    // The same failure, the same message: a caller that logs changes logs it once.
    CHECK(base::write_file_atomically(dir.path() / "no-such-dir" / "f", "x").message() ==
          missing.message());

    // The target is a directory: the rename fails, the temporary is removed.
    fs::create_directory(dir.path() / "taken");
    fs::create_directory(dir.path() / "taken" / "inner");
    base::Status onto_dir = base::write_file_atomically(dir.path() / "taken", "x");
    CHECK_FALSE(onto_dir);
    CHECK(onto_dir.message() ==
          "writing " + (dir.path() / "taken").string() + ": rename: Is a directory");
    CHECK(entries(dir.path()) == 1);

    CHECK_FALSE(base::write_file_atomically(dir.path() / "", "x"));
}

TEST_CASE("base atomic file: sync_path fsyncs a file and a directory, and names what is missing") {
    testutil::TempDir dir;
    REQUIRE(base::write_file_atomically(dir.path() / "f", "x"));
    CHECK(base::sync_path(dir.path() / "f"));
    CHECK(base::sync_path(dir.path()));
    base::Status s = base::sync_path(dir.path() / "absent");
    CHECK_FALSE(s);
    CHECK(s.message().find((dir.path() / "absent").string()) != std::string::npos);
}
