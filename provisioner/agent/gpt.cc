#include "provisioner/agent/gpt.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace provisioner::agent {
namespace {

using imaging::Result;
using imaging::Status;

constexpr char kGptSignature[] = "EFI PART";
constexpr std::uint32_t kMaxEntries = 1024;
constexpr std::size_t kNameOffset = 56;
constexpr std::size_t kNameBytes = 72;  // 36 UTF-16LE code units
constexpr std::size_t kMbrPartitionTable = 446;
constexpr unsigned char kProtectiveMbrType = 0xEE;

std::uint32_t crc32(const unsigned char* data, std::size_t size) {
    static const auto table = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    std::uint32_t c = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < size; ++i) c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

template <class T>
T get(const unsigned char* p) {
    T v = 0;
    for (std::size_t i = sizeof(T); i-- > 0;) v = T(v << 8) | p[i];
    return v;
}

template <class T>
void put(unsigned char* p, T v) {
    for (std::size_t i = 0; i < sizeof(T); ++i) p[i] = (unsigned char)(std::uint64_t(v) >> (8 * i));
}

// Reads exactly SIZE bytes at OFFSET; false when the file is shorter.
Result<bool> read_at(int fd, std::uint64_t offset, unsigned char* out, std::size_t size,
                     const std::string& what) {
    std::size_t done = 0;
    while (done < size) {
        ssize_t n = ::pread(fd, out + done, size - done, off_t(offset + done));
        if (n < 0) return imaging::errno_status("reading " + what);
        if (n == 0) return false;
        done += std::size_t(n);
    }
    return true;
}

Status write_at(int fd, std::uint64_t offset, const unsigned char* data, std::size_t size,
                const std::string& what) {
    std::size_t done = 0;
    while (done < size) {
        ssize_t n = ::pwrite(fd, data + done, size - done, off_t(offset + done));
        if (n < 0) return imaging::errno_status("writing the partition table of " + what);
        done += std::size_t(n);
    }
    return Status::ok();
}

std::string entry_name(const unsigned char* entry) {
    std::string name;
    for (std::size_t i = 0; i < kNameBytes; i += 2) {
        auto unit = get<std::uint16_t>(entry + kNameOffset + i);
        if (unit == 0) break;
        name += unit < 0x80 ? char(unit) : '?';
    }
    return name;
}

// The header's checksum over its first HEADER_SIZE bytes with the checksum field zeroed.
std::uint32_t header_crc(std::vector<unsigned char> header) {
    auto size = get<std::uint32_t>(&header[12]);
    std::memset(&header[16], 0, 4);
    return crc32(header.data(), size);
}

std::uint64_t entry_blocks(const Gpt& gpt) {
    std::uint64_t bytes = std::uint64_t(gpt.entry_count) * gpt.entry_size;
    return (bytes + gpt.block - 1) / gpt.block;
}

}  // namespace

Result<std::optional<Gpt>> read_gpt(int fd, const std::string& what) {
    Gpt gpt;
    bool found = false;
    for (std::uint32_t block : {512u, 4096u}) {
        gpt.header.assign(block, 0);
        auto got = read_at(fd, block, gpt.header.data(), block, what);
        if (!got) return got.status();
        if (*got && std::memcmp(gpt.header.data(), kGptSignature, 8) == 0) {
            gpt.block = block;
            found = true;
            break;
        }
    }
    if (!found) return std::optional<Gpt>{};

    auto bad = [&](const std::string& why) { return Status::error(what + ": damaged GPT: " + why); };
    const unsigned char* h = gpt.header.data();
    auto header_size = get<std::uint32_t>(h + 12);
    if (header_size < 92 || header_size > gpt.block)
        return bad("header size " + std::to_string(header_size));
    if (header_crc(gpt.header) != get<std::uint32_t>(h + 16)) return bad("header checksum mismatch");
    gpt.alternate_lba = get<std::uint64_t>(h + 32);
    gpt.first_usable_lba = get<std::uint64_t>(h + 40);
    gpt.last_usable_lba = get<std::uint64_t>(h + 48);
    auto entries_lba = get<std::uint64_t>(h + 72);
    gpt.entry_count = get<std::uint32_t>(h + 80);
    gpt.entry_size = get<std::uint32_t>(h + 84);
    if (gpt.entry_count > kMaxEntries || gpt.entry_size < 128 || gpt.entry_size > 4096 ||
        gpt.entry_size % 8 != 0)
        return bad(std::to_string(gpt.entry_count) + " entries of " +
                   std::to_string(gpt.entry_size) + " bytes");
    gpt.entries.assign(std::size_t(gpt.entry_count) * gpt.entry_size, 0);
    auto got = read_at(fd, entries_lba * gpt.block, gpt.entries.data(), gpt.entries.size(), what);
    if (!got) return got.status();
    if (!*got) return bad("the partition entries lie beyond the end of the disk");
    if (crc32(gpt.entries.data(), gpt.entries.size()) != get<std::uint32_t>(h + 88))
        return bad("partition entries checksum mismatch");

    for (std::uint32_t i = 0; i < gpt.entry_count; ++i) {
        const unsigned char* e = &gpt.entries[std::size_t(i) * gpt.entry_size];
        GptPartition p;
        std::memcpy(p.type.data(), e, 16);
        if (std::all_of(p.type.begin(), p.type.end(), [](unsigned char c) { return c == 0; }))
            continue;
        p.number = i + 1;
        p.first_lba = get<std::uint64_t>(e + 32);
        p.last_lba = get<std::uint64_t>(e + 40);
        p.name = entry_name(e);
        if (p.first_lba == 0 || p.last_lba < p.first_lba)
            return bad("partition " + std::to_string(p.number) + " has bad bounds");
        gpt.partitions.push_back(std::move(p));
    }
    return std::optional<Gpt>(std::move(gpt));
}

GptGeometry gpt_geometry_for(const Gpt& gpt, std::uint64_t disk_bytes) {
    GptGeometry g;
    std::uint64_t blocks = disk_bytes / gpt.block;
    std::uint64_t table = entry_blocks(gpt);
    if (blocks < table + 2) return g;  // all zero: no room (callers compare with what they have)
    g.alternate_lba = blocks - 1;
    g.backup_entries_lba = g.alternate_lba - table;
    g.last_usable_lba = g.backup_entries_lba - 1;
    return g;
}

Status rewrite_gpt(int fd, const std::string& what, Gpt& gpt, std::size_t part_index,
                   std::uint64_t new_last_lba, std::uint64_t disk_bytes) {
    if (part_index >= gpt.partitions.size()) return Status::error("no such partition");
    GptGeometry g = gpt_geometry_for(gpt, disk_bytes);
    GptPartition& part = gpt.partitions[part_index];
    if (g.alternate_lba == 0 || new_last_lba > g.last_usable_lba || new_last_lba < part.first_lba)
        return Status::error(what + ": partition " + std::to_string(part.number) +
                             " cannot end at LBA " + std::to_string(new_last_lba));
    std::vector<unsigned char> entries = gpt.entries;
    put<std::uint64_t>(&entries[std::size_t(part.number - 1) * gpt.entry_size + 40], new_last_lba);
    const std::uint32_t entries_crc = crc32(entries.data(), entries.size());

    std::vector<unsigned char> primary = gpt.header;
    put<std::uint64_t>(&primary[32], g.alternate_lba);
    put<std::uint64_t>(&primary[48], g.last_usable_lba);
    put<std::uint32_t>(&primary[88], entries_crc);
    put<std::uint32_t>(&primary[16], header_crc(primary));
    std::vector<unsigned char> backup = gpt.header;
    put<std::uint64_t>(&backup[24], g.alternate_lba);
    put<std::uint64_t>(&backup[32], 1);
    put<std::uint64_t>(&backup[48], g.last_usable_lba);
    put<std::uint64_t>(&backup[72], g.backup_entries_lba);
    put<std::uint32_t>(&backup[88], entries_crc);
    put<std::uint32_t>(&backup[16], header_crc(backup));

    const std::uint64_t b = gpt.block;
    const std::uint64_t primary_entries_lba = get<std::uint64_t>(&gpt.header[72]);
    Status s = write_at(fd, g.backup_entries_lba * b, entries.data(), entries.size(), what);
    if (s) s = write_at(fd, g.alternate_lba * b, backup.data(), backup.size(), what);
    if (s && ::fsync(fd) != 0) s = imaging::errno_status("syncing " + what);
    if (s) s = write_at(fd, primary_entries_lba * b, entries.data(), entries.size(), what);
    if (s) s = write_at(fd, b, primary.data(), primary.size(), what);
    if (!s) return s;

    // The protective MBR covers the whole disk, or as much of it as 32 bits can say.
    unsigned char mbr[512];
    auto got = read_at(fd, 0, mbr, sizeof mbr, what);
    if (!got) return got.status();
    unsigned char* first = mbr + kMbrPartitionTable;
    if (*got && first[4] == kProtectiveMbrType) {
        std::uint64_t blocks = disk_bytes / b - 1;
        put<std::uint32_t>(first + 12, std::uint32_t(std::min<std::uint64_t>(blocks, 0xFFFFFFFFu)));
        if (Status w = write_at(fd, 0, mbr, sizeof mbr, what); !w) return w;
    }
    if (::fsync(fd) != 0) return imaging::errno_status("syncing " + what);

    gpt.entries = std::move(entries);
    gpt.header = std::move(primary);
    gpt.alternate_lba = g.alternate_lba;
    gpt.last_usable_lba = g.last_usable_lba;
    part.last_lba = new_last_lba;
    return Status::ok();
}

}  // namespace provisioner::agent
