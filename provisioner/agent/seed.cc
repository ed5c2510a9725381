#include "provisioner/agent/seed.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "provisioner/agent/cmdline.h"

namespace provisioner::agent {
namespace {

using imaging::Result;
using imaging::Status;

constexpr char kGptSignature[] = "EFI PART";
constexpr std::uint32_t kMaxEntries = 1024;
constexpr std::size_t kNameOffset = 56;
constexpr std::size_t kNameBytes = 72;  // 36 UTF-16LE code units

class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }

  private:
    int fd_;
};

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
T little(const unsigned char* p) {
    T v = 0;
    for (std::size_t i = sizeof(T); i-- > 0;) v = T(v << 8) | p[i];
    return v;
}

// Reads exactly SIZE bytes at OFFSET; false when the disk is shorter.
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

// The partition name as ASCII; other code units make it a name we do not look for.
std::string entry_name(const unsigned char* entry) {
    std::string name;
    for (std::size_t i = 0; i < kNameBytes; i += 2) {
        auto unit = little<std::uint16_t>(entry + kNameOffset + i);
        if (unit == 0) break;
        name += unit < 0x80 ? char(unit) : '?';
    }
    return name;
}

// The GPT header's logical block size: 512, or 4096 on 4Kn disks; 0 when there is no GPT.
Result<std::uint32_t> gpt_block_size(int fd, std::vector<unsigned char>& header,
                                     const std::string& what) {
    for (std::uint32_t block : {512u, 4096u}) {
        header.assign(block, 0);
        auto got = read_at(fd, block, header.data(), block, what);
        if (!got) return got.status();
        if (*got && std::memcmp(header.data(), kGptSignature, 8) == 0) return block;
    }
    return 0u;
}

}  // namespace

Result<std::optional<SeedPartition>> find_seed_partition(const std::filesystem::path& disk) {
    const std::string what = disk.string();
    Fd fd(::open(disk.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return imaging::errno_status("opening " + what);
    std::vector<unsigned char> header;
    auto block = gpt_block_size(fd.get(), header, what);
    if (!block) return block.status();
    if (*block == 0) return std::optional<SeedPartition>{};

    auto bad = [&](const std::string& why) {
        return Status::error(what + ": damaged GPT: " + why);
    };
    auto header_size = little<std::uint32_t>(&header[12]);
    if (header_size < 92 || header_size > *block) return bad("header size " + std::to_string(header_size));
    std::vector<unsigned char> copy(header.begin(), header.begin() + header_size);
    std::memset(&copy[16], 0, 4);
    if (crc32(copy.data(), copy.size()) != little<std::uint32_t>(&header[16]))
        return bad("header checksum mismatch");
    auto entries_lba = little<std::uint64_t>(&header[72]);
    auto count = little<std::uint32_t>(&header[80]);
    auto entry_size = little<std::uint32_t>(&header[84]);
    if (count > kMaxEntries || entry_size < 128 || entry_size > 4096 || entry_size % 8 != 0)
        return bad(std::to_string(count) + " entries of " + std::to_string(entry_size) + " bytes");

    std::vector<unsigned char> entries(std::size_t(count) * entry_size);
    auto got = read_at(fd.get(), entries_lba * *block, entries.data(), entries.size(), what);
    if (!got) return got.status();
    if (!*got) return bad("the partition entries lie beyond the end of the disk");
    if (crc32(entries.data(), entries.size()) != little<std::uint32_t>(&header[88]))
        return bad("partition entries checksum mismatch");

    for (std::uint32_t i = 0; i < count; ++i) {
        const unsigned char* e = &entries[std::size_t(i) * entry_size];
        if (entry_name(e) != kSeedPartitionName) continue;
        auto first = little<std::uint64_t>(e + 32);
        auto last = little<std::uint64_t>(e + 40);
        if (first == 0 || last < first) return bad("partition " + std::to_string(i + 1) + " has bad bounds");
        return std::optional<SeedPartition>(SeedPartition{first * *block, (last - first + 1) * *block});
    }
    return std::optional<SeedPartition>{};
}

std::string seed_text(const std::string& server, const std::string& token,
                      const std::string& mac, const std::string& ca_pem) {
    std::string text = std::string(kCmdlineServer) + "=" + server + " " + kCmdlineToken + "=" +
                       token + " " + kCmdlineMac + "=" + mac;
    if (!ca_pem.empty()) text += std::string(" ") + kCmdlineCaPem + "=" + base64_encode(ca_pem);
    return text + "\n";
}

Status write_seed(const std::filesystem::path& disk, const SeedPartition& part,
                  const std::string& text) {
    const std::string what = disk.string();
    if (text.size() >= part.size)
        return Status::error("the seed (" + std::to_string(text.size()) +
                             " bytes) does not fit its partition on " + what);
    Fd fd(::open(disk.c_str(), O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0) return imaging::errno_status("opening " + what + " to write the seed");
    std::vector<char> block(part.size, 0);
    std::memcpy(block.data(), text.data(), text.size());
    std::size_t done = 0;
    while (done < block.size()) {
        ssize_t n = ::pwrite(fd.get(), block.data() + done, block.size() - done,
                             off_t(part.offset + done));
        if (n < 0) return imaging::errno_status("writing the seed to " + what);
        done += std::size_t(n);
    }
    if (::fsync(fd.get()) != 0) return imaging::errno_status("syncing the seed on " + what);
    return Status::ok();
}

Result<bool> fill_seed_partition(const std::string& disk, const std::string& text) {
    auto part = find_seed_partition(disk);
    if (!part) return part.status();
    if (!*part) return false;
    if (Status s = write_seed(disk, **part, text); !s) return s;
    return true;
}

}  // namespace provisioner::agent
