// The qemu-img operations the template store needs, run through a ProcessRunner.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "provisioner/status.h"
#include "provisioner/vmhost/process.h"

namespace provisioner::vmhost {

// One image of a backing chain, as `qemu-img info --output=json --backing-chain` reports it.
struct ImageLayer {
    std::filesystem::path filename;  // as qemu resolved it: absolute when the chain is
    std::string format;
    std::uint64_t virtual_size = 0;
    std::string backing_filename;  // as written in the image (may be relative); empty at the base
};

// Errors are storage, with the command line and qemu-img's stderr, or not_found if qemu-img
// is not installed. The runner must outlive the QemuImg.
class QemuImg {
  public:
    explicit QemuImg(ProcessRunner& runner, std::string program = "qemu-img")
        : runner_(runner), program_(std::move(program)) {}

    // qemu-img create -f qcow2 -b BACKING -F BACKING_FORMAT PATH. A relative backing is
    // resolved by qemu against PATH's directory and stays relative in the image.
    Status create_overlay(const std::string& backing, const std::string& backing_format,
                          const std::filesystem::path& path);
    // qemu-img rebase -u -f qcow2 -b BACKING -F BACKING_FORMAT PATH: points the qcow2 overlay
    // at path to another copy of the same backing image (the contents are not compared).
    Status set_backing(const std::filesystem::path& path, const std::string& backing,
                       const std::string& backing_format);
    // qemu-img create -f FORMAT PATH SIZE (a blank image).
    Status create(const std::filesystem::path& path, const std::string& format,
                  std::uint64_t size_bytes);
    // qemu-img convert -O FORMAT SRC DST: a full, flattened copy of src's whole chain.
    Status convert(const std::filesystem::path& src, const std::filesystem::path& dst,
                   const std::string& format);
    // The image first, then its backing file, down to the base.
    Result<std::vector<ImageLayer>> backing_chain(const std::filesystem::path& path);

  private:
    Status run(const std::vector<std::string>& args, std::string* out);

    ProcessRunner& runner_;
    std::string program_;
};

}  // namespace provisioner::vmhost
