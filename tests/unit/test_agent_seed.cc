// The seed partition: found in a GPT that sfdisk (util-linux) wrote, filled, read back as a
// kernel command line; disks without one are left alone; a damaged GPT is an error.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "provisioner/agent/cmdline.h"
#include "provisioner/agent/seed.h"
#include "test_util.h"

namespace {

using namespace provisioner::agent;

constexpr std::uint64_t kMiB = 1 << 20;

// An 8 MiB disk image partitioned as images/build-dom0 partitions Dom0's disk.
std::filesystem::path dom0_like_disk(const testutil::TempDir& dir) {
    auto disk = dir / "disk.raw";
    std::filesystem::resize_file((std::ofstream(disk), disk), 8 * kMiB);
    auto layout = dir / "layout.sfdisk";
    std::ofstream(layout) << "label: gpt\n"
                             "size=1MiB, type=21686148-6449-6E6F-744E-656564454649, name=bios\n"
                             "size=1MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=provisioner-seed\n"
                             "type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=dom0-root\n";
    std::string cmd = "sfdisk --quiet " + disk.string() + " < " + layout.string();
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "sfdisk (package fdisk) must be installed");
    return disk;
}

std::string read_range(const std::filesystem::path& file, std::uint64_t offset, std::size_t size) {
    std::ifstream in(file, std::ios::binary);
    in.seekg(std::streamoff(offset));
    std::string bytes(size, '\0');
    in.read(bytes.data(), std::streamsize(size));
    return bytes;
}

}  // namespace

TEST_CASE("seed: found in a GPT disk, written, and read back as a command line") {
    testutil::TempDir dir;
    auto disk = dom0_like_disk(dir);
    auto part = find_seed_partition(disk);
    REQUIRE(part.is_ok());
    REQUIRE(part->has_value());
    CHECK((*part)->offset == 2 * kMiB);  // sfdisk aligns the first partition at 1 MiB
    CHECK((*part)->size == kMiB);

    auto text = seed_text("http://10.77.0.1:8080", "h3_abc", "52:54:00:00:00:03");
    REQUIRE(write_seed(disk, **part, text).is_ok());
    auto bytes = read_range(disk, (*part)->offset, std::size_t((*part)->size));
    CHECK(bytes.substr(0, text.size()) == text);
    CHECK(bytes.find_first_not_of('\0', text.size()) == std::string::npos);

    // What Dom0's unit reads: the partition itself, NUL-padded.
    auto seed_file = dir / "seed";
    std::ofstream(seed_file, std::ios::binary) << bytes;
    auto params = read_kernel_cmdline(seed_file);
    REQUIRE(params.is_ok());
    CHECK(params->at(kCmdlineServer) == "http://10.77.0.1:8080");
    CHECK(params->at(kCmdlineToken) == "h3_abc");
    CHECK(params->at(kCmdlineMac) == "52:54:00:00:00:03");
    CHECK(params->size() == 3);
}

TEST_CASE("seed: disks without a GPT or without the partition get none") {
    testutil::TempDir dir;
    auto plain = dir / "plain.raw";
    std::filesystem::resize_file((std::ofstream(plain), plain), 4 * kMiB);
    auto none = find_seed_partition(plain);
    REQUIRE(none.is_ok());
    CHECK_FALSE(none->has_value());

    auto gpt = dir / "gpt.raw";
    std::filesystem::resize_file((std::ofstream(gpt), gpt), 4 * kMiB);
    auto layout = dir / "layout";
    std::ofstream(layout) << "label: gpt\ntype=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root\n";
    REQUIRE(std::system(("sfdisk --quiet " + gpt.string() + " < " + layout.string()).c_str()) == 0);
    auto other = find_seed_partition(gpt);
    REQUIRE(other.is_ok());
    CHECK_FALSE(other->has_value());

    CHECK_FALSE(find_seed_partition(dir / "missing.raw").is_ok());
}

TEST_CASE("seed: a damaged GPT is an error, and a seed too large for its partition too") {
    testutil::TempDir dir;
    auto disk = dom0_like_disk(dir);
    {
        std::fstream f(disk, std::ios::binary | std::ios::in | std::ios::out);
        f.seekp(512 + 80);  // the header's entry count: its checksum no longer matches
        f.put('\x7f');
    }
    auto damaged = find_seed_partition(disk);
    REQUIRE_FALSE(damaged.is_ok());
    CHECK(damaged.status().message().find("damaged GPT") != std::string::npos);

    SeedPartition tiny{2 * kMiB, 16};
    auto s = write_seed(disk, tiny, seed_text("http://server:8080", "token", "52:54:00:00:00:01"));
    CHECK_FALSE(s.is_ok());
    CHECK(s.message().find("does not fit") != std::string::npos);
}

TEST_CASE("agent seed: the CA travels to the imaged system as base64 and comes back intact") {
    const std::string pem = "-----BEGIN CERTIFICATE-----\nMIIB\xff\x01\n-----END CERTIFICATE-----\n";
    auto text = seed_text("https://10.77.0.1:8080", "h3_1_abc", "52:54:00:00:00:03", pem);
    auto params = parse_kernel_cmdline(text);
    REQUIRE(params.count(kCmdlineCaPem));
    CHECK(params.at(kCmdlineCaPem).find_first_of(" \n\"") == std::string::npos);
    CHECK(base64_decode(params.at(kCmdlineCaPem)) == pem);
    CHECK(params.at(kCmdlineToken) == "h3_1_abc");
    for (std::string s : {"", "a", "ab", "abc", "abcd", "abcde"}) CHECK(base64_decode(base64_encode(s)) == s);
    CHECK(base64_decode("not base64!") == "");
    // Found by fuzz_kernel_cmdline: OpenSSL reads '=' anywhere as zero bits and skips
    // whitespace; such text is not the encoding of anything and decodes to nothing.
    for (const char* odd : {"provisiopem=YWI=", "YW=I", "====", "A===", " YQ=", "YQ==    ", "YR=="})
        CHECK(base64_decode(odd) == "");
    CHECK(base64_decode("YWI=") == "ab");
    CHECK(seed_text("u", "t", "m").find(kCmdlineCaPem) == std::string::npos);
}
