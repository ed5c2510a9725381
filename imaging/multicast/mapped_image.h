// The sender's view of an image directory: manifest.json's bytes (object 0, sent as it is so
// receivers check the signature over exactly what was signed) and chunks.pack mapped
// read-only, so DATA payloads go from the page cache to the socket without copies.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "imaging/manifest.h"
#include "imaging/status.h"

namespace imaging::multicast {

class MappedImage {
  public:
    static Result<std::unique_ptr<MappedImage>> open(const std::filesystem::path& dir);
    ~MappedImage();
    MappedImage(const MappedImage&) = delete;
    MappedImage& operator=(const MappedImage&) = delete;

    const Manifest& manifest() const { return manifest_; }
    // 0: manifest.json; i + 1: chunk i's zstd frame (empty for an all-zero chunk). The spans
    // live as long as this object.
    std::vector<std::span<const std::uint8_t>> objects() const;

  private:
    MappedImage() = default;
    Manifest manifest_;
    std::vector<std::uint8_t> manifest_bytes_;
    const std::uint8_t* pack_ = nullptr;
    std::size_t pack_size_ = 0;
};

}  // namespace imaging::multicast
