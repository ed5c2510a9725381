// The seed partition: a GPT partition named "provisioner-seed" on an image that wants one
// (images/build-dom0 makes it, 1 MiB, zeroed). Once the image is written and verified, the
// agent writes into it what the imaged system needs to reach provisionerd again, in the kernel
// command line's form ("provisioner.server=URL provisioner.token=T provisioner.mac=M\n", then
// zeros); Dom0's provisioner-ready.service reads it back with
// `provisioner-agent ready --cmdline /dev/disk/by-partlabel/provisioner-seed`.
// Images without a GPT, or without that partition, get nothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "imaging/status.h"

namespace provisioner::agent {

inline constexpr const char* kSeedPartitionName = "provisioner-seed";

struct SeedPartition {
    std::uint64_t offset = 0;  // bytes from the start of the disk
    std::uint64_t size = 0;
};

// The seed partition of DISK (a block device or a disk image file). nullopt when the disk has
// no GPT or no partition of that name; an error when it cannot be read or its GPT is damaged
// (bad header or entry-array checksum, entries out of bounds).
imaging::Result<std::optional<SeedPartition>> find_seed_partition(
    const std::filesystem::path& disk);

// "provisioner.server=URL provisioner.token=T provisioner.mac=M\n", with
// " provisioner.ca_pem=BASE64" before the newline when ca_pem (the CA the netboot agent
// verified the server by) is given, so that the imaged system's agent trusts the same server.
std::string seed_text(const std::string& server, const std::string& token,
                      const std::string& mac, const std::string& ca_pem = "");

// Writes TEXT at the start of PART on DISK, zero-fills the rest of the partition, and syncs.
// An error when TEXT does not fit.
imaging::Status write_seed(const std::filesystem::path& disk, const SeedPartition& part,
                           const std::string& text);

// find_seed_partition, then write_seed: true when written, false when DISK has no seed partition.
imaging::Result<bool> fill_seed_partition(const std::string& disk, const std::string& text);

}  // namespace provisioner::agent
