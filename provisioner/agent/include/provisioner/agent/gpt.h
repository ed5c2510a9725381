// A GUID partition table read from, and grown on, a disk or a disk image file: what the seed
// partition (seed.h) and the growth of an imaged disk (disk_grow.h) need, no more.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "imaging/status.h"

namespace provisioner::agent {

struct GptPartition {
    std::uint32_t number = 0;  // 1-based, as the kernel names it (sda3, nvme0n1p3)
    std::array<unsigned char, 16> type{};  // the type GUID as stored (mixed-endian)
    std::uint64_t first_lba = 0, last_lba = 0;  // inclusive
    std::string name;  // ASCII; other UTF-16 code units read as '?'
};

struct Gpt {
    std::uint32_t block = 512;  // logical block size: 512, or 4096 on 4Kn disks
    std::vector<unsigned char> header;   // the primary header's block, as read
    std::vector<unsigned char> entries;  // the whole entry array, as read
    std::uint64_t alternate_lba = 0, first_usable_lba = 0, last_usable_lba = 0;
    std::uint32_t entry_count = 0, entry_size = 0;
    std::vector<GptPartition> partitions;  // the used entries, in table order
};

// The primary GPT of the open file FD (WHAT names it in errors). nullopt when there is no GPT
// signature at LBA 1 (512- or 4096-byte blocks); an error when it cannot be read or is damaged
// (header or entry-array checksum, sizes, entries beyond the end, partitions with bad bounds).
imaging::Result<std::optional<Gpt>> read_gpt(int fd, const std::string& what);

// Where the partition table of a disk of DISK_BYTES puts things when it fills the disk: the
// backup header in the last block, the backup entries before it, the last usable LBA before those.
struct GptGeometry {
    std::uint64_t alternate_lba = 0, backup_entries_lba = 0, last_usable_lba = 0;
};
GptGeometry gpt_geometry_for(const Gpt& gpt, std::uint64_t disk_bytes);

// Rewrites GPT on FD for a disk of DISK_BYTES: partition PART_INDEX (into gpt.partitions) ends
// at NEW_LAST_LBA, the backup header and entries move to the disk's end, both checksums are
// recomputed, and the protective MBR's size follows. The backup copy is written and synced
// before the primary, so a crash half-way leaves one valid table. Updates GPT to match.
imaging::Status rewrite_gpt(int fd, const std::string& what, Gpt& gpt, std::size_t part_index,
                            std::uint64_t new_last_lba, std::uint64_t disk_bytes);

}  // namespace provisioner::agent
