// After the image is written and verified: its last partition, and the ext2/3/4 filesystem in
// it, grow to the end of a disk larger than the image (the Dom0 image is 2 GiB, real disks are
// terabytes), as cloud-utils' growpart and resize2fs would.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/process.h"
#include "imaging/status.h"
#include "provisioner/agent/gpt.h"

namespace provisioner::agent {

struct DiskGrowth {
    bool grown = false;
    std::string partition;  // "/dev/vda4": the partition grown (or that would have been)
    std::uint64_t from_bytes = 0, to_bytes = 0;  // its size before and after
    std::string reason;  // what was done, or why nothing was
};

// What to do with GPT on a disk of DISK_BYTES: grow the partition that ends last, when
// LAST_HOLDS_EXT says it holds an ext2/3/4 filesystem, to the last 1 MiB boundary before the
// backup table. grow false with the reason when there is nothing to do.
struct GrowPlan {
    bool grow = false;
    std::size_t index = 0;  // into gpt.partitions
    std::uint64_t new_last_lba = 0;
    std::string reason;
};
GrowPlan plan_growth(const Gpt& gpt, std::uint64_t disk_bytes, bool last_holds_ext);

// The kernel's name of partition NUMBER of DISK: /dev/vda + 4 -> /dev/vda4, /dev/nvme0n1 + 4
// -> /dev/nvme0n1p4 (a disk whose name ends in a digit takes a 'p').
std::string partition_device(const std::string& disk, std::uint32_t number);

// Opens DISK (a block device or an image file), plans, and rewrites its GPT so the last
// partition fills it (rewrite_gpt). A disk without a GPT, or whose last partition holds no ext
// filesystem, or that is already full, is left as it is (grown false, with the reason).
imaging::Result<DiskGrowth> grow_partition_table(const std::string& disk);

// Runs a program to completion (base::run_process in the agent; a fake in tests).
using GrowCommandRunner =
    std::function<imaging::Result<base::RunResult>(const std::vector<std::string>& argv)>;

// grow_partition_table, then, when the partition grew on a block device: the kernel rereads
// the table (BLKRRPART), and `e2fsck -f -p` and `resize2fs` run on the partition. Errors say
// which step failed; the image itself is never touched by a failed step.
imaging::Result<DiskGrowth> grow_disk_to_fit(const std::string& disk,
                                             const GrowCommandRunner& run);

// grow_disk_to_fit with base::run_process (e2fsck and resize2fs from PATH).
imaging::Result<DiskGrowth> grow_disk(const std::string& disk);

}  // namespace provisioner::agent
