// Service packages from the server: the signed record (wire), the server's catalog (a real .deb
// made with dpkg-deb, a real site key), and the guest's fetch and checks against a scripted
// server.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "base/process.h"
#include "imaging/digest.h"
#include "imaging/signing.h"
#include "package_catalog.h"
#include "provisioner/agent/guest_packages.h"
#include "test_agent_fake.h"
#include "test_util.h"

namespace fs = std::filesystem;
using provisioner::server::PackageCatalog;
using provisioner::wire::PackageRecord;

namespace {

// A real .deb: NAME 1.2-3, Architecture all, one file.
fs::path make_deb(const fs::path& dir, const std::string& name) {
    const fs::path tree = dir / ("tree-" + name);
    fs::create_directories(tree / "DEBIAN");
    fs::create_directories(tree / "srv");
    std::ofstream(tree / "DEBIAN/control")
        << "Package: " << name << "\nVersion: 1.2-3\nArchitecture: all\n"
        << "Maintainer: t <t@example.invalid>\nDescription: test\n";
    std::ofstream(tree / "srv/hello") << "hello\n";
    const fs::path deb = dir / (name + ".deb");
    auto ran = base::run_process(
        {"dpkg-deb", "--root-owner-group", "--build", tree.string(), deb.string()});
    REQUIRE_MESSAGE(ran, "dpkg-deb is needed (apt-get install dpkg)");
    REQUIRE(ran->exit_code == 0);
    return deb;
}

}  // namespace

TEST_CASE("package record: round trip, and what a decoder refuses") {
    PackageRecord r{"hello", "1.0", "all", 958, std::string(64, 'a'), "ab12"};
    auto back = provisioner::wire::decode<PackageRecord>(provisioner::wire::encode(r));
    REQUIRE(back);
    CHECK(*back == r);
    auto j = provisioner::wire::encode(r);
    j["sha256"] = "XYZ";
    CHECK_FALSE(provisioner::wire::decode<PackageRecord>(j));
    j = provisioner::wire::encode(r);
    j["version"] = "1.0\nname evil";
    CHECK_FALSE(provisioner::wire::decode<PackageRecord>(j));
    j = provisioner::wire::encode(r);
    j["size"] = provisioner::wire::kMaxPackageBytes + 1;
    CHECK_FALSE(provisioner::wire::decode<PackageRecord>(j));
    // Every field but the signature is signed.
    PackageRecord other = r;
    other.size = 959;
    CHECK(provisioner::wire::package_signed_text(r) !=
          provisioner::wire::package_signed_text(other));
}

TEST_CASE("package catalog: add a real .deb signed with the site key, list, conflict, remove") {
    testutil::TempDir tmp;
    REQUIRE(imaging::generate_keypair(tmp / "site"));
    const fs::path deb = make_deb(tmp.path(), "hello");
    PackageCatalog catalog(tmp / "packages");

    auto added = catalog.add(deb, tmp / "site.key");
    REQUIRE_MESSAGE(added, added.status().message());
    CHECK(added->name == "hello");
    CHECK(added->version == "1.2-3");
    CHECK(added->architecture == "all");
    CHECK(added->size == fs::file_size(deb));
    const std::string bytes = testutil::file_text(catalog.file("hello"));
    CHECK(bytes == testutil::file_text(deb));
    CHECK(added->sha256 ==
          imaging::to_hex(imaging::sha256(
              {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()})));
    auto key = imaging::VerifyKey::load(tmp / "site.pub");
    REQUIRE(key);
    CHECK(key->verify(provisioner::wire::package_signed_text(*added), added->signature));

    auto again = catalog.add(deb, tmp / "site.key");
    REQUIRE_FALSE(again);
    CHECK(again.status().code() == provisioner::Code::conflict);

    std::ofstream(tmp / "not.deb") << "just text\n";
    auto bad = catalog.add(tmp / "not.deb", tmp / "site.key");
    REQUIRE_FALSE(bad);
    CHECK(bad.status().code() == provisioner::Code::invalid_argument);
    CHECK(bad.status().message().find("is not a Debian package") != std::string::npos);
    CHECK(catalog.add(tmp / "missing.deb", tmp / "site.key").status().code() ==
          provisioner::Code::not_found);

    auto list = catalog.list();
    REQUIRE(list);
    REQUIRE(list->size() == 1);  // nothing left behind by the refusals
    CHECK(list->front() == *added);
    CHECK(std::distance(fs::directory_iterator(tmp / "packages"), fs::directory_iterator()) == 2);

    auto removed = catalog.remove("hello");
    REQUIRE(removed);
    CHECK_FALSE(fs::exists(catalog.file("hello")));
    CHECK(catalog.find("hello").status().code() == provisioner::Code::not_found);
    CHECK(catalog.find("../etc").status().code() == provisioner::Code::not_found);
}

TEST_CASE("guest packages: a signed record is believed, a tampered one or file is not") {
    testutil::TempDir tmp;
    REQUIRE(imaging::generate_keypair(tmp / "site"));
    REQUIRE(imaging::generate_keypair(tmp / "other"));
    const std::string deb = "!<arch>\nnot really a deb, but bytes to check\n";
    PackageRecord record{"hello",
                         "1.0",
                         "all",
                         deb.size(),
                         imaging::to_hex(imaging::sha256(
                             {reinterpret_cast<const std::uint8_t*>(deb.data()), deb.size()})),
                         ""};
    auto sign_with = [&](const char* key) {
        PackageRecord r = record;
        r.signature =
            *imaging::SigningKey::load(tmp / key)->sign(provisioner::wire::package_signed_text(r));
        return r;
    };
    PackageRecord good = sign_with("site.key");
    std::vector<std::string> urls;
    imaging::http::ClientResponse record_answer =
        agent_test::reply(200, provisioner::wire::encode(good));
    imaging::http::ClientResponse file_answer = agent_test::reply(200);
    file_answer.body = deb;
    provisioner::agent::ServerPackages packages(
        "https://10.0.0.1:8080/", "web-a", "g_token", tmp / "site.pub",
        [&](const imaging::http::ClientRequest& r) {
            urls.push_back(r.url);
            CHECK(r.headers.at(0).second == "Bearer g_token");
            return r.url.ends_with("/file") ? file_answer : record_answer;
        });

    auto found = packages.lookup("hello");
    REQUIRE_MESSAGE(found, found.status().message());
    REQUIRE(found->has_value());
    CHECK(**found == good);
    CHECK(urls.back() == "https://10.0.0.1:8080/api/v1/guest/vms/web-a/packages/hello");
    auto file = packages.download(**found, tmp / "cache");
    REQUIRE_MESSAGE(file, file.status().message());
    CHECK(testutil::file_text(*file) == deb);
    CHECK(urls.back() == "https://10.0.0.1:8080/api/v1/guest/vms/web-a/packages/hello/file");

    file_answer.body[0] = '?';  // same size, other bytes
    auto changed = packages.download(good, tmp / "cache");
    REQUIRE_FALSE(changed);
    CHECK(changed.status().message().find("SHA-256") != std::string::npos);
    file_answer.body += "x";
    CHECK(packages.download(good, tmp / "cache").status().message().find("bytes where") !=
          std::string::npos);

    record_answer = agent_test::reply(200, provisioner::wire::encode(sign_with("other.key")));
    auto forged = packages.lookup("hello");
    REQUIRE_FALSE(forged);
    CHECK(forged.status().message().find("does not verify") != std::string::npos);
    PackageRecord bigger = good;
    bigger.size += 1;  // signed as it was: the signature no longer covers it
    record_answer = agent_test::reply(200, provisioner::wire::encode(bigger));
    CHECK_FALSE(packages.lookup("hello"));

    record_answer = agent_test::reply(404, {{"error", {{"message", "no service package hello"}}}});
    auto none = packages.lookup("hello");
    REQUIRE(none);
    CHECK_FALSE(none->has_value());  // the guest's install command takes it (a mirror)

    record_answer = agent_test::reply(200, provisioner::wire::encode(good));
    provisioner::agent::ServerPackages unpinned(
        "https://10.0.0.1:8080", "web-a", "g_token", tmp / "no-such.pub",
        [&](const imaging::http::ClientRequest&) { return record_answer; });
    auto refused = unpinned.lookup("hello");
    REQUIRE_FALSE(refused);
    CHECK(refused.status().message().find("no pinned site key") != std::string::npos);
}
