// Growing an imaged disk: a GPT that sfdisk (util-linux) wrote for an 8 MiB image, on a 40 MiB
// "disk" (the image file made larger), is rewritten so its last partition fills the disk;
// sfdisk then finds both tables valid. Disks with nothing to grow are left byte for byte.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "provisioner/agent/disk_grow.h"
#include "provisioner/agent/gpt.h"
#include "test_util.h"

namespace {

using namespace provisioner::agent;

constexpr std::uint64_t kMiB = 1 << 20;

int sh(const std::string& command) { return std::system(command.c_str()); }

std::string slurp(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// An 8 MiB image laid out as images/build-dom0 lays out Dom0's disk, its last partition ext4
// when EXT; then the file grows to DISK_MIB, as the image lies on a larger disk.
std::filesystem::path imaged_disk(const testutil::TempDir& dir, bool ext, std::uint64_t disk_mib) {
    auto disk = dir / "disk.raw";
    std::filesystem::resize_file((std::ofstream(disk), disk), 8 * kMiB);
    auto layout = dir / "layout.sfdisk";
    std::ofstream(layout) << "label: gpt\n"
                             "size=1MiB, type=21686148-6449-6E6F-744E-656564454649, name=bios\n"
                             "size=1MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=provisioner-seed\n"
                             "size=2MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=efi\n"
                             "type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=dom0-root\n";
    REQUIRE_MESSAGE(sh("sfdisk --quiet " + disk.string() + " < " + layout.string()) == 0,
                    "sfdisk (package fdisk) must be installed");
    if (ext)
        REQUIRE_MESSAGE(sh("mkfs.ext4 -q -F -E offset=" + std::to_string(5 * kMiB) + " " +
                           disk.string() + " 2M >/dev/null") == 0,
                        "mkfs.ext4 (package e2fsprogs) must be installed");
    std::filesystem::resize_file(disk, disk_mib * kMiB);
    return disk;
}

std::optional<Gpt> gpt_of(const std::filesystem::path& disk) {
    int fd = ::open(disk.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    auto gpt = read_gpt(fd, disk.string());
    ::close(fd);
    REQUIRE(gpt.is_ok());
    return *gpt;
}

}  // namespace

TEST_CASE("disk grow: the last partition fills a larger disk; both GPT copies are valid") {
    testutil::TempDir dir;
    auto disk = imaged_disk(dir, true, 40);
    auto before = gpt_of(disk);
    REQUIRE(before);
    REQUIRE(before->partitions.size() == 4);
    CHECK(before->partitions[3].last_lba == 7 * 2048 - 1);  // sfdisk ends it on a 1 MiB boundary

    auto growth = grow_partition_table(disk.string());
    REQUIRE(growth.is_ok());
    CHECK(growth->grown);
    CHECK(growth->partition == disk.string() + "4");
    CHECK(growth->from_bytes == 2 * kMiB);
    // From 5 MiB to the last 1 MiB boundary before the backup table: 39 MiB.
    CHECK(growth->to_bytes == 34 * kMiB);
    CHECK(growth->reason.find("partition 4 (dom0-root) grows") != std::string::npos);

    auto after = gpt_of(disk);
    REQUIRE(after);
    CHECK(after->partitions[3].first_lba == 5 * 2048);
    CHECK(after->partitions[3].last_lba == 39 * 2048 - 1);
    CHECK(after->alternate_lba == 40 * 2048 - 1);
    CHECK(after->last_usable_lba == 40 * 2048 - 34);
    CHECK(after->partitions[0].last_lba == before->partitions[0].last_lba);
    // sfdisk checks the primary table, the backup at the end of the disk and the protective MBR.
    auto verify = dir / "verify.txt";
    CHECK(sh("sfdisk --verify " + disk.string() + " >" + verify.string() + " 2>&1") == 0);
    CHECK_MESSAGE(slurp(verify).find("corrupt") == std::string::npos, slurp(verify));
    CHECK_MESSAGE(slurp(verify).find("mismatch") == std::string::npos, slurp(verify));
    // A second run has nothing to do.
    auto again = grow_partition_table(disk.string());
    REQUIRE(again.is_ok());
    CHECK_FALSE(again->grown);
    CHECK(again->reason.find("already reaches the end") != std::string::npos);
}

TEST_CASE("disk grow: no ext filesystem, no GPT, or a disk the image's size: left as they are") {
    testutil::TempDir dir;
    SUBCASE("the last partition holds no ext filesystem") {
        auto disk = imaged_disk(dir, false, 40);
        auto bytes = slurp(disk);
        auto growth = grow_partition_table(disk.string());
        REQUIRE(growth.is_ok());
        CHECK_FALSE(growth->grown);
        CHECK(growth->reason.find("holds no ext2/3/4 filesystem") != std::string::npos);
        CHECK(slurp(disk) == bytes);
    }
    SUBCASE("the disk is the image's size") {
        auto disk = imaged_disk(dir, true, 8);
        auto bytes = slurp(disk);
        auto growth = grow_partition_table(disk.string());
        REQUIRE(growth.is_ok());
        CHECK_FALSE(growth->grown);
        CHECK(slurp(disk) == bytes);
    }
    SUBCASE("no GPT") {
        auto disk = dir / "blank.raw";
        std::filesystem::resize_file((std::ofstream(disk), disk), 4 * kMiB);
        auto growth = grow_partition_table(disk.string());
        REQUIRE(growth.is_ok());
        CHECK_FALSE(growth->grown);
        CHECK(growth->reason.find("has no GPT") != std::string::npos);
    }
}

TEST_CASE("disk grow: the filesystem step runs only on a block device; names of partitions") {
    testutil::TempDir dir;
    auto disk = imaged_disk(dir, true, 16);
    int calls = 0;
    auto growth = grow_disk_to_fit(disk.string(), [&](const std::vector<std::string>&) {
        ++calls;
        return imaging::Result<base::RunResult>(base::RunResult{});
    });
    REQUIRE(growth.is_ok());
    CHECK(growth->grown);
    CHECK(calls == 0);  // an image file has no partition device for resize2fs
    CHECK(growth->reason.find("not a block device") != std::string::npos);

    CHECK(partition_device("/dev/vda", 4) == "/dev/vda4");
    CHECK(partition_device("/dev/sdb", 1) == "/dev/sdb1");
    CHECK(partition_device("/dev/nvme0n1", 4) == "/dev/nvme0n1p4");
    CHECK(partition_device("/dev/loop3", 2) == "/dev/loop3p2");
    CHECK(partition_device("/dev/mmcblk0", 1) == "/dev/mmcblk0p1");
}

TEST_CASE("disk grow: a damaged table is an error, and the disk is not written") {
    testutil::TempDir dir;
    auto disk = imaged_disk(dir, true, 40);
    {
        std::fstream f(disk, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(512 + 40);  // the primary header's first usable LBA, under its checksum
        f.put('\x7f');
    }
    auto bytes = slurp(disk);
    auto growth = grow_partition_table(disk.string());
    REQUIRE_FALSE(growth.is_ok());
    CHECK(growth.status().message().find("damaged GPT: header checksum") != std::string::npos);
    CHECK(slurp(disk) == bytes);
}
