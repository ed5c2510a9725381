// Read access to an image directory (manifest.json + chunks.pack). Thread-safe: reads use
// pread, so any number of threads may read frames at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "imaging/manifest.h"
#include "imaging/status.h"

namespace imaging {

class PackedImage {
public:
    // Opens and checks the manifest's signature with key.
    static Result<std::shared_ptr<PackedImage>> open(const std::filesystem::path& dir,
                                                     const VerifyKey& key);
    // For the side that made the image (server, tests): structure is checked, not the signature.
    static Result<std::shared_ptr<PackedImage>> open_unverified(const std::filesystem::path& dir);
    ~PackedImage();

    const Manifest& manifest() const { return manifest_; }
    const std::filesystem::path& dir() const { return dir_; }

    // The stored zstd frame of chunk i (empty for a zero chunk).
    Result<std::vector<std::uint8_t>> read_frame(std::size_t i) const;
    // The same into frame, resized to it (a caller's buffer reused from chunk to chunk).
    Status read_frame_into(std::size_t i, std::vector<std::uint8_t>& frame) const;
    // Chunk i decompressed and verified into out (size chunk_length(i)). The frame is read into
    // a buffer each calling thread keeps.
    Status read_chunk(std::size_t i, std::span<std::uint8_t> out) const;

private:
    PackedImage(std::filesystem::path dir, Manifest m, int fd);
    std::filesystem::path dir_;
    Manifest manifest_;
    int pack_fd_ = -1;
};

}  // namespace imaging
