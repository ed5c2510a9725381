#include "provisioner/agent/seed.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "base/unique_fd.h"
#include "provisioner/agent/cmdline.h"
#include "provisioner/agent/gpt.h"

namespace provisioner::agent {
namespace {

using imaging::Result;
using imaging::Status;

using Fd = base::UniqueFd;

}  // namespace

Result<std::optional<SeedPartition>> find_seed_partition(const std::filesystem::path& disk) {
    const std::string what = disk.string();
    Fd fd(::open(disk.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return imaging::errno_status("opening " + what);
    auto gpt = read_gpt(fd.get(), what);
    if (!gpt) return gpt.status();
    if (!*gpt) return std::optional<SeedPartition>{};
    for (const GptPartition& p : (*gpt)->partitions) {
        if (p.name != kSeedPartitionName) continue;
        const std::uint64_t block = (*gpt)->block;
        return std::optional<SeedPartition>(
            SeedPartition{p.first_lba * block, (p.last_lba - p.first_lba + 1) * block});
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
