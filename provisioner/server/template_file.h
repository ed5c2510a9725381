// A template's file as the server's catalog keeps it: copied under STATE/templates, hashed on
// the way, its format and backing file read from its header (a qcow2's own header, so the
// server needs no qemu-img).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "provisioner/status.h"

namespace provisioner::server {

struct TemplateFile {
    std::string format;        // "qcow2" (by its magic number), else "raw"
    std::string backing_file;  // a qcow2's backing file name as its header holds it; "" if none
    std::uint64_t size = 0;
    std::string sha256;          // hex
    std::filesystem::path path;  // the copy: DIR/STEM.FORMAT
};

// Bytes copied so far of the source's size; first called with 0.
using CopyProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

// Copies source to DIR/STEM.FORMAT (which must not exist) through a file DIR/STEM.partial.N,
// so that it appears only whole, and describes the copy. not_found without a readable regular
// source; conflict if the copy exists; invalid_argument for a qcow2 header that cannot be
// read; storage for I/O errors. Nothing is left behind on failure.
Result<TemplateFile> copy_template_file(const std::filesystem::path& source,
                                        const std::filesystem::path& dir, const std::string& stem,
                                        const CopyProgress& progress = {});

}  // namespace provisioner::server
