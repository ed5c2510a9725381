#include "provisioner/agent/disk_grow.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <thread>

#include "base/unique_fd.h"
#include "imaging/progress.h"

namespace provisioner::agent {
namespace {

using imaging::Result;
using imaging::Status;

constexpr std::uint64_t kAlignBytes = 1 << 20;  // partitions end on 1 MiB boundaries
constexpr std::uint64_t kExtMagicOffset = 1024 + 56;  // s_magic in the ext superblock

using Fd = base::UniqueFd;

Result<std::uint64_t> size_of(int fd, const std::string& what) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return imaging::errno_status("stat " + what);
    if (!S_ISBLK(st.st_mode)) return std::uint64_t(st.st_size);
    std::uint64_t bytes = 0;
    if (::ioctl(fd, BLKGETSIZE64, &bytes) != 0) return imaging::errno_status("size of " + what);
    return bytes;
}

bool holds_ext(int fd, std::uint64_t partition_offset) {
    unsigned char magic[2] = {0, 0};
    if (::pread(fd, magic, 2, off_t(partition_offset + kExtMagicOffset)) != 2) return false;
    return magic[0] == 0x53 && magic[1] == 0xEF;
}

std::size_t last_partition(const Gpt& gpt) {
    std::size_t last = 0;
    for (std::size_t i = 1; i < gpt.partitions.size(); ++i)
        if (gpt.partitions[i].last_lba > gpt.partitions[last].last_lba) last = i;
    return last;
}

std::string bytes_text(std::uint64_t bytes) { return imaging::human_bytes(double(bytes)); }

// The kernel reads the new table; busy while udev still probes the partitions it just saw.
Status reread_partitions(int fd, const std::string& disk) {
    for (int attempt = 0;; ++attempt) {
        if (::ioctl(fd, BLKRRPART) == 0) return Status::ok();
        if (errno != EBUSY || attempt == 25)
            return imaging::errno_status("the kernel did not reread the partition table of " +
                                         disk + " (BLKRRPART)");
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

// Waits until /sys says PARTITION has BYTES (its node appears with it, on devtmpfs).
Status wait_for_partition(const std::string& partition, std::uint64_t bytes) {
    const std::string name = partition.substr(partition.rfind('/') + 1);
    const std::string sys = "/sys/class/block/" + name + "/size";
    std::uint64_t sectors = 0;
    for (int i = 0; i < 100; ++i) {
        std::ifstream in(sys);
        if (in >> sectors && sectors * 512 == bytes && ::access(partition.c_str(), F_OK) == 0)
            return Status::ok();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Status::error(partition + " did not appear with " + bytes_text(bytes) +
                         " after the kernel reread the table (" + sys + " says " +
                         std::to_string(sectors) + " sectors)");
}

Status run_step(const GrowCommandRunner& run, const std::vector<std::string>& argv,
                int highest_ok_exit) {
    auto r = run(argv);
    if (!r) return r.status();
    if (r->exit_code > highest_ok_exit) return base::exit_error(argv, *r);
    return Status::ok();
}

}  // namespace

GrowPlan plan_growth(const Gpt& gpt, std::uint64_t disk_bytes, bool last_holds_ext) {
    GrowPlan plan;
    if (gpt.partitions.empty()) {
        plan.reason = "the GPT has no partitions";
        return plan;
    }
    plan.index = last_partition(gpt);
    const GptPartition& p = gpt.partitions[plan.index];
    const std::string which = "partition " + std::to_string(p.number) +
                              (p.name.empty() ? "" : " (" + p.name + ")");
    if (!last_holds_ext) {
        plan.reason = which + ", the last on the disk, holds no ext2/3/4 filesystem: left as it is";
        return plan;
    }
    GptGeometry g = gpt_geometry_for(gpt, disk_bytes);
    const std::uint64_t align = std::max<std::uint64_t>(1, kAlignBytes / gpt.block);
    const std::uint64_t end = g.alternate_lba == 0 ? 0 : (g.last_usable_lba + 1) / align * align;
    if (end == 0 || end <= p.last_lba + 1) {
        plan.reason = which + " already reaches the end of the disk";
        return plan;
    }
    plan.grow = true;
    plan.new_last_lba = end - 1;
    plan.reason = which + " grows to the end of the disk";
    return plan;
}

std::string partition_device(const std::string& disk, std::uint32_t number) {
    bool digit = !disk.empty() && std::isdigit(static_cast<unsigned char>(disk.back()));
    return disk + (digit ? "p" : "") + std::to_string(number);
}

namespace {

// grow_partition_table on an open disk; FD stays open for the kernel's reread.
Result<DiskGrowth> grow_table(int fd, const std::string& disk) {
    auto bytes = size_of(fd, disk);
    if (!bytes) return bytes.status();
    auto gpt = read_gpt(fd, disk);
    if (!gpt) return gpt.status();
    DiskGrowth growth;
    if (!*gpt) {
        growth.reason = disk + " has no GPT: nothing to grow";
        return growth;
    }
    Gpt& table = **gpt;
    const std::size_t last = table.partitions.empty() ? 0 : last_partition(table);
    const bool ext = !table.partitions.empty() &&
                     holds_ext(fd, table.partitions[last].first_lba * table.block);
    GrowPlan plan = plan_growth(table, *bytes, ext);
    if (!table.partitions.empty()) {
        const GptPartition& p = table.partitions[plan.index];
        growth.partition = partition_device(disk, p.number);
        growth.from_bytes = growth.to_bytes = (p.last_lba - p.first_lba + 1) * table.block;
    }
    growth.reason = plan.reason;
    if (!plan.grow) return growth;
    if (Status s = rewrite_gpt(fd, disk, table, plan.index, plan.new_last_lba, *bytes); !s)
        return s;
    const GptPartition& p = table.partitions[plan.index];
    growth.grown = true;
    growth.to_bytes = (p.last_lba - p.first_lba + 1) * table.block;
    growth.reason = plan.reason + ": " + bytes_text(growth.from_bytes) + " -> " +
                    bytes_text(growth.to_bytes);
    return growth;
}

}  // namespace

Result<DiskGrowth> grow_partition_table(const std::string& disk) {
    Fd fd(::open(disk.c_str(), O_RDWR | O_CLOEXEC));
    if (fd.get() < 0) return imaging::errno_status("opening " + disk + " to grow it");
    return grow_table(fd.get(), disk);
}

Result<DiskGrowth> grow_disk_to_fit(const std::string& disk, const GrowCommandRunner& run) {
    Fd fd(::open(disk.c_str(), O_RDWR | O_CLOEXEC));
    if (fd.get() < 0) return imaging::errno_status("opening " + disk + " to grow it");
    auto growth = grow_table(fd.get(), disk);
    if (!growth || !growth->grown) return growth;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISBLK(st.st_mode)) {
        growth->reason += " (not a block device: its filesystem is left to grow by hand)";
        return growth;
    }
    auto fail = [&](const Status& s) {
        return Status::error("the partition table of " + disk + " grew, but " + s.message());
    };
    if (Status s = reread_partitions(fd.get(), disk); !s) return fail(s);
    if (Status s = wait_for_partition(growth->partition, growth->to_bytes); !s) return fail(s);
    // resize2fs wants a filesystem checked since it was last mounted; e2fsck's exit 1 says it
    // fixed something harmless (a fresh image has nothing to fix).
    if (Status s = run_step(run, {"e2fsck", "-f", "-p", growth->partition}, 1); !s) return fail(s);
    if (Status s = run_step(run, {"resize2fs", growth->partition}, 0); !s) return fail(s);
    growth->reason += ", and its filesystem with it";
    return growth;
}

Result<DiskGrowth> grow_disk(const std::string& disk) {
    return grow_disk_to_fit(disk, [](const std::vector<std::string>& argv) {
        base::RunOptions options;
        options.timeout = std::chrono::minutes(30);  // e2fsck of a large, fresh filesystem
        options.capture_limit = 64 << 10;
        return base::run_process(argv, options);
    });
}

}  // namespace provisioner::agent
