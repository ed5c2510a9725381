// provisionerd's own CA and server certificate (tls_files.h): what init makes, with which
// names, lifetimes and modes, and when a start issues the server certificate again.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>

#include "test_util.h"
#include "tls_files.h"

using namespace provisioner::server;
namespace fs = std::filesystem;
using testutil::TempDir;
using testutil::read_file;

namespace {

bool has_name(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

std::string slurp(const fs::path& p) {
    auto bytes = read_file(p);
    return std::string(bytes.begin(), bytes.end());
}

}  // namespace

TEST_CASE("tls files: init makes a CA and a server certificate with the names, lifetimes and modes") {
    TempDir dir;
    const TlsFiles files = TlsFiles::in(dir.path());
    auto made = ensure_tls_certificates(files, {"localhost", "127.0.0.1", "::1", "pxe.example", "10.77.0.1"});
    REQUIRE(made);
    CHECK(made->created_ca);
    CHECK(made->issued_server);
    CHECK(testutil::file_mode(files.ca_key) == 0600);
    CHECK(testutil::file_mode(files.server_key) == 0600);
    CHECK(testutil::file_mode(files.ca_cert) == 0644);
    CHECK(testutil::file_mode(files.server_cert) == 0644);

    auto ca = read_certificate_info(files.ca_cert);
    REQUIRE(ca);
    CHECK(ca->is_ca);
    auto server = read_certificate_info(files.server_cert);
    REQUIRE(server);
    CHECK_FALSE(server->is_ca);
    for (const char* n : {"localhost", "127.0.0.1", "::1", "pxe.example", "10.77.0.1"})
        CHECK_MESSAGE(has_name(server->names, n), n);
    const auto now = std::chrono::system_clock::now();
    const auto day = std::chrono::hours(24);
    CHECK(server->not_before <= now);
    CHECK(server->not_after > now + 800 * day);
    CHECK(server->not_after < now + 830 * day);
    CHECK(ca->not_after > now + 3600 * day);
}

TEST_CASE("tls files: a second start keeps everything; a new name reissues under the same CA") {
    TempDir dir;
    const TlsFiles files = TlsFiles::in(dir.path());
    REQUIRE(ensure_tls_certificates(files, {"localhost", "10.0.0.1"}));
    const std::string ca = slurp(files.ca_cert), cert = slurp(files.server_cert);

    auto again = ensure_tls_certificates(files, {"localhost", "10.0.0.1"});
    REQUIRE(again);
    CHECK_FALSE(again->created_ca);
    CHECK_FALSE(again->issued_server);
    CHECK(slurp(files.server_cert) == cert);

    auto moved = ensure_tls_certificates(files, {"localhost", "10.0.0.2"});
    REQUIRE(moved);
    CHECK_FALSE(moved->created_ca);
    CHECK(moved->issued_server);
    CHECK(slurp(files.ca_cert) == ca);  // agents that pinned it still trust the server
    auto info = read_certificate_info(files.server_cert);
    REQUIRE(info);
    CHECK(has_name(info->names, "10.0.0.2"));
    CHECK(has_name(info->names, "10.0.0.1"));  // the old names stay
}

TEST_CASE("tls files: a server key that does not match its certificate, or loose modes, are mended") {
    TempDir dir;
    const TlsFiles files = TlsFiles::in(dir.path());
    REQUIRE(ensure_tls_certificates(files, {"localhost"}));
    fs::remove(files.server_key);  // a crash between the key and the certificate
    ::chmod(files.ca_key.c_str(), 0644);
    auto mended = ensure_tls_certificates(files, {"localhost"});
    REQUIRE(mended);
    CHECK(mended->issued_server);
    CHECK(testutil::file_mode(files.ca_key) == 0600);
    CHECK(testutil::file_mode(files.server_key) == 0600);
}

TEST_CASE("tls files: the local names include loopback and the host name") {
    auto names = local_certificate_names();
    CHECK(has_name(names, "localhost"));
    CHECK(has_name(names, "127.0.0.1"));
}
