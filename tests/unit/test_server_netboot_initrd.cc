// The netboot initramfs with the server's CA appended (netboot_initrd.h): a newc cpio that
// cpio itself reads back, after the original padded to 4 bytes.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

#include "netboot_initrd.h"
#include "test_util.h"

using namespace provisioner::server;

TEST_CASE("netboot initrd: the appended newc archive holds the files and their directories") {
    testutil::TempDir dir;
    std::ofstream(dir / "initrd.img", std::ios::binary) << "ORIGINAL";  // 8 bytes
    std::ofstream(dir / "odd.img", std::ios::binary) << "ODD";           // 3 bytes: padded
    std::vector<InitrdFile> files{{"etc/provisioner/ca.crt", "CA PEM\n", 0644},
                                  {"etc/provisioner/site.pub", "KEY\n", 0644}};
    REQUIRE(compose_initrd(dir / "initrd.img", files, dir / "out.img").is_ok());
    REQUIRE(compose_initrd(dir / "odd.img", files, dir / "odd-out.img").is_ok());
    auto out = testutil::read_file(dir / "out.img");
    std::string text(out.begin(), out.end());
    CHECK(text.starts_with("ORIGINAL070701"));
    auto odd = testutil::read_file(dir / "odd-out.img");
    CHECK(std::string(odd.begin(), odd.begin() + 10) == std::string("ODD") + '\0' + "070701");
    CHECK(text.size() % 4 == 0);
    CHECK(text.find("TRAILER!!!") != std::string::npos);
    // cpio (GNU) lists and extracts what the kernel would.
    std::ofstream(dir / "archive.cpio", std::ios::binary) << text.substr(8);
    const std::string cmd = "cd " + dir.path().string() +
                            " && mkdir x && cd x && cpio -idm --quiet < ../archive.cpio";
    REQUIRE(std::system(cmd.c_str()) == 0);
    auto ca = testutil::read_file(dir / "x/etc/provisioner/ca.crt");
    CHECK(std::string(ca.begin(), ca.end()) == "CA PEM\n");
    auto key = testutil::read_file(dir / "x/etc/provisioner/site.pub");
    CHECK(std::string(key.begin(), key.end()) == "KEY\n");
    CHECK_FALSE(compose_initrd(dir / "missing.img", files, dir / "never.img").is_ok());
}
